"""A branch's list today (learning.services.branch_today): it answers a member who has opened nothing today with no
SQL, says exactly what the per-member path says, and no open, publication, completion, withdrawal or branch move —
even one racing the read that builds it — leaves anyone a stale list."""
import pytest
from sqlalchemy import event

from core.extensions import db
from learning.services import branch_today, streaks
from notifications.jobs import run_reading_day
from tests import factories
from tests.factories import local_time
from tests.learning.helpers import publish
from tests.members.test_token_claims import relayed  # noqa: F401  (the fixture: the auth relay has run)

TODAY = "/api/v1/materials/today"


@pytest.fixture
def statements(ctx):
    """The SQL statements run so far (reset it with .clear())."""
    seen = []

    def capture(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    yield seen
    event.remove(db.engine, "before_cursor_execute", capture)


@pytest.fixture
def built(monkeypatch):
    """How many times a branch's entries were built, and for which branches."""
    calls, original = [], branch_today.build
    monkeypatch.setattr(branch_today, "build", lambda ids, day: calls.append(list(ids)) or original(ids, day))
    return calls


def _list(client, headers):
    response = client.get(TODAY, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _per_member(client, headers, monkeypatch):
    """The list as the per-member path builds it from the tables."""
    with monkeypatch.context() as patched:
        patched.setattr(branch_today, "answer", lambda *args: None)
        return _list(client, headers)


def _studied(client, headers, item, day, frozen):
    frozen(f"{day} 12:00")
    assert client.post(f"/api/v1/materials/{item['id']}/reads", headers=headers).status_code == 200
    frozen(f"{day} 12:02")
    assert client.post(f"/api/v1/materials/{item['id']}/reads/finish", json={}, headers=headers).get_json()["completed"]


@pytest.fixture
def history(client, login, org, frozen):
    """Material on 11-21, 11-22 and 11-23 for branch A; 张三 studied both past days, 李四 only 11-22; on 11-23 the
    committee also has an item. The clock is 11-23 08:00."""
    frozen("2026-11-21 07:00")
    secretary = login(org.secretary_a)
    items = [publish(client, secretary, day=day, minutes=1) for day in ("2026-11-21", "2026-11-22", "2026-11-23")]
    _studied(client, login(org.member_a), items[0], "2026-11-21", frozen)
    _studied(client, login(org.member_a), items[1], "2026-11-22", frozen)
    _studied(client, login(org.member_a2), items[1], "2026-11-22", frozen)
    frozen("2026-11-23 07:30")
    publish(client, login(org.admin_a), day="2026-11-23", minutes=3, title="全委学习", audience={
        "committee_id": org.committee_a.id})
    frozen("2026-11-23 08:00")
    return items


def test_it_says_what_the_per_member_path_says(client, login, org, history, built, monkeypatch):
    members = (org.member_a, org.member_a2, org.member_a2_branch, org.member_b)
    shown = {m.id: _list(client, login(m)) for m in members}
    assert built == [[org.branch_a.id], [org.branch_a2.id], [org.branch_b.id]]  # once per branch
    for member in members:
        assert shown[member.id] == _per_member(client, login(member), monkeypatch), member.name
    mine, theirs = shown[org.member_a.id], shown[org.member_a2.id]
    assert mine["streak"] == 2 and theirs["streak"] == 1
    assert [i["title"] for i in mine["items"]] == [history[2]["title"], "全委学习"]
    assert mine["progress"] == {"total": 2, "completed": 0}
    assert [i["state"]["required_seconds"] for i in mine["items"]] == [30, 90]
    assert [len(shown[m.id]["items"]) for m in (org.member_a2_branch, org.member_b)] == [1, 0]


def test_a_member_of_a_built_branch_costs_no_sql(client, login, org, history, relayed, statements):  # noqa: F811
    first, second = login(org.member_a), login(org.member_a2)
    for headers in (first, second):
        client.get("/api/v1/me", headers=headers)  # a request before: the login itself is not measured
    _list(client, first)  # builds the branch's entries
    db.session.commit()
    statements.clear()
    assert _list(client, second)["streak"] == 1
    assert statements == [], statements


def test_the_scheduler_builds_every_branch_after_midnight(client, login, org, history, relayed, statements, built,  # noqa: F811
                                                          frozen):
    headers = {m.id: login(m) for m in (org.member_a, org.member_a2_branch, org.member_b)}  # logged in before
    for h in headers.values():
        client.get("/api/v1/me", headers=h)
    frozen("2026-11-23 00:05")
    assert run_reading_day(local_time("2026-11-23 00:05")) == 0
    assert run_reading_day(local_time("2026-11-23 00:05")) is None  # once a day
    assert len(built) == 1 and set(built[0]) >= {org.branch_a.id, org.branch_a2.id, org.branch_b.id}
    frozen("2026-11-23 08:00")
    asking = [headers[m.id] for m in (org.member_a, org.member_a2_branch)]
    db.session.commit()
    statements.clear()
    assert [_list(client, h)["streak"] for h in asking] == [2, 0]
    assert statements == [] and len(built) == 1, statements


def test_an_open_moves_the_opener_to_their_own_list_and_leaves_the_others_served(client, login, org, history, built):
    mine, theirs = login(org.member_a), login(org.member_a2)
    assert _list(client, mine)["items"][0]["state"]["opened_at"] is None
    assert client.post(f"/api/v1/materials/{history[2]['id']}/reads", headers=mine).status_code == 200
    opened = _list(client, mine)
    assert opened["items"][0]["state"]["opened_at"] is not None and opened["streak"] == 2
    assert _list(client, theirs)["items"][0]["state"]["opened_at"] is None
    assert built == [[org.branch_a.id]]  # the branch's entries still stand for the others


def test_a_member_who_opened_before_a_rebuild_keeps_their_own_list(client, login, org, history, built):
    mine = login(org.member_a)
    assert client.post(f"/api/v1/materials/{history[2]['id']}/reads", headers=mine).status_code == 200
    publish(client, login(org.secretary_a), title="第三篇", day="2026-11-23")  # today's entries are rebuilt
    shown = _list(client, mine)
    assert built == [[org.branch_a.id]] and len(shown["items"]) == 3
    assert shown["items"][0]["state"]["opened_at"] is not None and shown["items"][2]["state"]["opened_at"] is None


def test_an_open_racing_the_build_is_not_hidden(client, login, org, history, monkeypatch):
    mine = login(org.member_a)
    original, raced = branch_today.past_streaks, []

    def count_then_open(*args):
        counted = original(*args)  # the build has seen no reading today ...
        if not raced:  # ... when the member's open commits
            raced.append(client.post(f"/api/v1/materials/{history[2]['id']}/reads", headers=mine).status_code)
        return counted

    monkeypatch.setattr(branch_today, "past_streaks", count_then_open)
    assert _list(client, mine)["items"][0]["state"]["opened_at"] is None  # that answer predates the open ...
    assert raced == [200]
    assert _list(client, mine)["items"][0]["state"]["opened_at"] is not None  # ... the entry never shows it again


def test_a_publication_racing_the_build_is_not_hidden(client, login, org, history, monkeypatch):
    member, secretary = login(org.member_a), login(org.secretary_a)
    original, raced = branch_today._items, []

    def read_then_publish(*args):
        listed = original(*args)
        if not raced:
            raced.append(publish(client, secretary, title="第三篇", day="2026-11-23"))
        return listed

    monkeypatch.setattr(branch_today, "_items", read_then_publish)
    assert len(_list(client, member)["items"]) == 2
    assert [i["title"] for i in _list(client, member)["items"]][-1] == "第三篇"


def test_a_late_completion_racing_the_build_is_not_hidden(client, login, org, history, monkeypatch, frozen):
    member = login(org.member_a2)  # studied 11-22 only: a streak of 1, or 2 with 11-21
    original, raced = branch_today.past_streaks, []

    def count_then_complete(*args):
        counted = original(*args)  # the past is counted ...
        if not raced:  # ... when a completion of 11-22 commits (as that day's last minute would)
            frozen("2026-11-22 23:58")
            assert client.post(f"/api/v1/materials/{history[0]['id']}/reads", headers=member).status_code == 200
            frozen("2026-11-22 23:59")
            raced.append(client.post(f"/api/v1/materials/{history[0]['id']}/reads/finish", json={},
                                     headers=member).get_json()["completed"])
            frozen("2026-11-23 08:00")
        return counted

    monkeypatch.setattr(branch_today, "past_streaks", count_then_complete)
    assert _list(client, member)["streak"] == 1 and raced == [True]
    # 11-21's item completed on 11-22 is late: it does not count, and the answer still says 1; but the member's
    # readings changed, so it comes from the tables, not from the entry built before.
    assert _list(client, member)["streak"] == streaks.reading_streak(org.member_a2) == 1


def test_a_withdrawal_of_a_past_day_rebuilds_the_streaks(client, login, org, history, built):
    member = login(org.member_a)
    assert _list(client, member)["streak"] == 2
    client.post(f"/api/v1/materials/{history[0]['id']}/withdraw", json={"reason": "重复发布"},
                headers=login(org.secretary_a))
    assert _list(client, member)["streak"] == 1  # 11-21 has no material left: only 11-22 counts
    assert built == [[org.branch_a.id], [org.branch_a.id]]


def test_a_member_who_moved_is_never_served_the_branch_they_left(client, login, org, history, built):
    member = login(org.member_a)
    assert _list(client, member)["streak"] == 2
    org.member_a.branch_id = org.branch_b.id  # another committee: none of branch A's material
    db.session.commit()
    shown = _list(client, member)
    assert shown["items"] == [] and shown["streak"] == 0
    newcomer = factories.member(org.branch_a, name="新同志")  # joined branch A after its entries were built
    assert _list(client, login(newcomer))["streak"] == 0


def test_with_redis_down_the_list_comes_from_the_tables(client, login, org, history, hot_cache, built):
    member = login(org.member_a)
    shown = _list(client, member)
    hot_cache.down()
    assert _list(client, member) == shown
    assert client.post(f"/api/v1/materials/{history[2]['id']}/reads", headers=member).status_code == 200
    assert _list(client, member)["items"][0]["state"]["opened_at"] is not None  # from the tables meanwhile
    hot_cache.back()  # the open's bump, lost while Redis was down, is made before the next read
    assert _list(client, member)["items"][0]["state"]["opened_at"] is not None
    assert built == [[org.branch_a.id]]  # nothing was built while Redis was down


def test_an_open_and_a_finish_of_todays_item_read_no_material_row(client, login, org, history, relayed, statements,  # noqa: F811
                                                                 frozen):
    mine, item = login(org.member_a), history[2]
    client.get("/api/v1/me", headers=mine)
    _list(client, mine)  # the branch's entries are built
    db.session.commit()
    statements.clear()
    opened = client.post(f"/api/v1/materials/{item['id']}/reads", headers=mine)
    assert opened.status_code == 200 and opened.get_json()["required_seconds"] == 30
    frozen("2026-11-23 08:02")
    finished = client.post(f"/api/v1/materials/{item['id']}/reads/finish", json={}, headers=mine).get_json()
    assert finished["completed"] is True and finished["points_awarded"] > 0
    assert not [s for s in statements if "FROM materials" in s], statements
    assert any(s.startswith("INSERT INTO readings") for s in statements), statements
    assert _list(client, mine)["progress"] == {"total": 2, "completed": 1}


def test_an_item_withdrawn_or_not_the_branchs_is_still_refused(client, login, org, history):
    mine, item = login(org.member_a), history[2]
    _list(client, mine)  # the branch's entries list the item
    client.post(f"/api/v1/materials/{item['id']}/withdraw", json={"reason": "内容有误"}, headers=login(org.secretary_a))
    assert client.post(f"/api/v1/materials/{item['id']}/reads", headers=mine).status_code == 404  # as the tables say
    theirs = login(org.member_b)
    _list(client, theirs)  # branch B's entries: nothing of committee A
    assert client.post(f"/api/v1/materials/{history[1]['id']}/reads", headers=theirs).status_code == 404
