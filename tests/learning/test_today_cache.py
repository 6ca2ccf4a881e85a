"""The cached list today (learning.services.today): one member's reading never reaches another, and no reading,
publication or withdrawal leaves a stale list, even when it races the read that fills the cache."""
import pytest

from learning.services import branch_today, streaks, today
from tests.learning.helpers import publish

TODAY = "/api/v1/materials/today"


@pytest.fixture(autouse=True)
def per_member_path(monkeypatch):
    """These are the per-member entries' tests (the path of a member who has opened something today): the branch's
    entries, which answer the others, are left out here and tested in test_branch_today."""
    monkeypatch.setattr(branch_today, "answer", lambda *args: None)


def _list(client, headers):
    response = client.get(TODAY, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_each_member_sees_only_their_own_reading(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), minutes=1)
    first, second = login(org.member_a), login(org.member_a2)
    for headers in (first, second, first, second):  # both cached
        assert _list(client, headers)["items"][0]["state"]["opened_at"] is None
    assert client.post(f"/api/v1/materials/{item['id']}/reads", headers=first).status_code == 200
    frozen("2026-11-23 08:05")
    finished = client.post(f"/api/v1/materials/{item['id']}/reads/finish", json={}, headers=first).get_json()
    assert finished["completed"] is True
    mine, theirs = _list(client, first), _list(client, second)
    assert mine["progress"] == {"total": 1, "completed": 1} and mine["streak"] == 1
    assert theirs["progress"] == {"total": 1, "completed": 0} and theirs["streak"] == 0
    assert theirs["items"][0]["state"]["opened_at"] is None


def test_a_publication_and_a_withdrawal_show_on_the_next_read(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    secretary, member = login(org.secretary_a), login(org.member_a)
    first = publish(client, secretary, title="第一篇")
    assert [i["title"] for i in _list(client, member)["items"]] == ["第一篇"]
    publish(client, secretary, title="第二篇")
    assert [i["title"] for i in _list(client, member)["items"]] == ["第一篇", "第二篇"]
    client.post(f"/api/v1/materials/{first['id']}/withdraw", json={"reason": "重复发布"}, headers=secretary)
    assert [i["title"] for i in _list(client, member)["items"]] == ["第二篇"]


def test_material_for_another_day_leaves_todays_entry_alone(client, login, org, frozen, monkeypatch):
    frozen("2026-11-23 08:00")
    secretary, member = login(org.secretary_a), login(org.member_a)
    publish(client, secretary, title="今天")
    _list(client, member)
    publish(client, secretary, title="明天", day="2026-11-24")
    calls = []
    monkeypatch.setattr(today, "today_for", lambda m: calls.append(m) or {})
    assert [i["title"] for i in _list(client, member)["items"]] == ["今天"] and calls == []  # still cached


def test_a_publication_racing_the_read_that_fills_the_cache_is_not_hidden(client, login, org, frozen, monkeypatch):
    frozen("2026-11-23 08:00")
    secretary, member = login(org.secretary_a), login(org.member_a)
    publish(client, secretary, title="第一篇")
    original, raced = today.today_for, []

    def read_then_publish(who):
        listed = original(who)  # the read has one item in hand ...
        if not raced:
            raced.append(publish(client, secretary, title="第二篇"))  # ... when a second is published
        return listed

    monkeypatch.setattr(today, "today_for", read_then_publish)
    assert len(_list(client, member)["items"]) == 1  # that answer predates it ...
    monkeypatch.setattr(today, "today_for", original)
    assert len(_list(client, member)["items"]) == 2  # ... but the entry it stored is never served


def _studied(client, headers, item, day, frozen):
    frozen(f"{day} 12:00")
    assert client.post(f"/api/v1/materials/{item['id']}/reads", headers=headers).status_code == 200
    frozen(f"{day} 12:02")
    assert client.post(f"/api/v1/materials/{item['id']}/reads/finish", json={}, headers=headers).get_json()["completed"]


def test_the_past_streak_is_kept_apart_from_the_list_and_follows_a_withdrawal(client, login, org, frozen, monkeypatch):
    frozen("2026-11-22 07:00")
    secretary, member = login(org.secretary_a), login(org.member_a)
    first = publish(client, secretary, day="2026-11-22", minutes=1)
    second = publish(client, secretary, day="2026-11-23", minutes=1)
    third = publish(client, secretary, day="2026-11-24", minutes=1)
    _studied(client, member, first, "2026-11-22", frozen)
    _studied(client, member, second, "2026-11-23", frozen)
    frozen("2026-11-24 08:00")
    assert _list(client, member)["streak"] == 2  # the two days before; today not studied yet
    computed = []
    original = streaks._computed_past_streak
    monkeypatch.setattr(streaks, "_computed_past_streak", lambda *a: computed.append(a) or original(*a))
    # Opening today's item makes the list stale, not the days before it: the past streak is served from its entry.
    assert client.post(f"/api/v1/materials/{third['id']}/reads", headers=member).status_code == 200
    assert _list(client, member)["items"][0]["state"]["opened_at"] is not None
    assert computed == []
    # Withdrawing a past day's item changes that past: 11-22 has no material left, so only 11-23 counts.
    client.post(f"/api/v1/materials/{first['id']}/withdraw", json={"reason": "重复发布"}, headers=secretary)
    assert _list(client, member)["streak"] == 1 and len(computed) == 1


def test_a_completion_racing_the_read_that_fills_the_past_streak_is_not_hidden(client, login, org, frozen,
                                                                                monkeypatch):
    frozen("2026-11-23 07:00")
    secretary, member = login(org.secretary_a), login(org.member_a)
    yesterday = publish(client, secretary, day="2026-11-23", minutes=1)
    publish(client, secretary, day="2026-11-24", minutes=1)
    frozen("2026-11-24 08:00")
    original, raced = streaks._streak_days, []

    def count_then_complete(*args):
        counted = original(*args)  # the past is counted with nothing studied ...
        if not raced:  # ... when a completion of that past day commits (as the day's last minutes would)
            frozen("2026-11-23 23:58")
            _studied(client, member, yesterday, "2026-11-23", frozen)
            raced.append(True)
            frozen("2026-11-24 08:00")
        return counted

    monkeypatch.setattr(streaks, "_streak_days", count_then_complete)
    assert _list(client, member)["streak"] == 0  # that answer predates the completion ...
    monkeypatch.setattr(streaks, "_streak_days", original)
    assert _list(client, member)["streak"] == 1  # ... but the entry it stored is never served
