"""The cached list today (learning.services.today): one member's reading never reaches another, and no reading,
publication or withdrawal leaves a stale list, even when it races the read that fills the cache."""
from learning.services import today
from tests.learning.helpers import publish

TODAY = "/api/v1/materials/today"


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
