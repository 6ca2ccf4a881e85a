"""Completion for secretaries and admins, the query services for notifications, and Redis leaderboards."""
from core.cache import get_redis
from core.extensions import db
from learning import points, services, stats
from tests import factories
from tests.learning.helpers import publish


def _study(client, headers, item, frozen, start, end):
    frozen(start)
    client.post(f"/api/v1/materials/{item['id']}/reads", headers=headers)
    frozen(end)
    return client.post(f"/api/v1/materials/{item['id']}/reads/finish", json={}, headers=headers).get_json()


def _week_with_reading(client, login, org, frozen):
    """Branch A1 has two items on Monday; 张三 studies both, 李四 one; nobody else studies."""
    frozen("2026-11-23 07:00")
    first = publish(client, login(org.secretary_a), title="周一第一篇", minutes=1)
    second = publish(client, login(org.secretary_a), title="周一第二篇", minutes=1)
    publish(client, login(org.admin_a), title="全党委学习", minutes=1, audience={"committee_id": org.committee_a.id},
            day="2026-11-24")
    for item in (first, second):
        _study(client, login(org.member_a), item, frozen, "2026-11-23 09:00", "2026-11-23 09:05")
    _study(client, login(org.member_a2), first, frozen, "2026-11-23 10:00", "2026-11-23 10:05")
    return first, second


def test_a_secretary_sees_the_day_rate_who_studied_what_and_who_studied_nothing(client, login, org, frozen):
    first, second = _week_with_reading(client, login, org, frozen)
    frozen("2026-11-23 20:00")
    response = client.get(f"/api/v1/branches/{org.branch_a.id}/reading?day=2026-11-23",
                          headers=login(org.secretary_a))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    # A1 has 张三, 李四 and 钱书记: 3 members × 2 items, 3 readings completed
    assert body["summary"]["members"] == 3 and body["summary"]["expected"] == 6
    assert body["summary"]["completed"] == 3 and body["summary"]["rate"] == 0.5
    assert {m["title"]: m["completed"] for m in body["materials"]} == {"周一第一篇": 2, "周一第二篇": 1}
    people = {m["name"]: m for m in body["members"]}
    assert people["张三"]["material_ids"] == sorted([first["id"], second["id"]])
    assert people["李四"]["completed"] == 1 and people["钱书记"]["completed"] == 0
    assert [m["name"] for m in body["idle_this_week"]] == ["钱书记"]


def test_the_week_view_and_the_committee_view_aggregate_every_branch(client, login, org, frozen):
    _week_with_reading(client, login, org, frozen)
    frozen("2026-11-28 20:00")
    week = client.get(f"/api/v1/branches/{org.branch_a.id}/reading?week=2026-W48",
                      headers=login(org.secretary_a)).get_json()
    assert week["summary"]["materials"] == 3 and week["summary"]["expected"] == 9 and week["week_key"] == "2026-W48"
    committee = client.get(f"/api/v1/committees/{org.committee_a.id}/reading", headers=login(org.admin_a))
    assert committee.status_code == 200, committee.get_json()
    rows = {r["branch_id"]: r for r in committee.get_json()["items"]}
    assert set(rows) == {org.branch_a.id, org.branch_a2.id}
    assert rows[org.branch_a.id]["completed"] == 3 and rows[org.branch_a.id]["idle_week_members"] == 1
    assert rows[org.branch_a2.id]["materials"] == 1 and rows[org.branch_a2.id]["completed"] == 0
    assert rows[org.branch_a2.id]["idle_week_members"] == 2
    total = committee.get_json()["total"]
    assert total["completed"] == 3 and total["expected"] == 9 + 2 and total["members"] == 5


def test_completion_views_check_scope(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    assert client.get(f"/api/v1/branches/{org.branch_a2.id}/reading", headers=login(org.secretary_a)).status_code \
        == 404
    assert client.get(f"/api/v1/branches/{org.branch_a.id}/reading", headers=login(org.member_a)).status_code == 403
    assert client.get(f"/api/v1/committees/{org.committee_b.id}/reading", headers=login(org.admin_a)).status_code \
        == 404
    assert client.get(f"/api/v1/committees/{org.committee_a.id}/reading", headers=login(org.secretary_a)) \
        .status_code == 403
    bad = client.get(f"/api/v1/branches/{org.branch_a.id}/reading?week=2026-W99", headers=login(org.secretary_a))
    assert bad.status_code == 422
    empty = client.get(f"/api/v1/committees/{org.committee_a.id}/reading", headers=login(org.admin_a)).get_json()
    assert empty["total"]["rate"] is None and empty["total"]["branch_id"] is None and len(empty["items"]) == 2


def test_the_query_services_for_notifications(client, login, org, frozen):
    first, _ = _week_with_reading(client, login, org, frozen)
    from datetime import date
    monday = date(2026, 11, 23)
    with_material = set(db.session.scalars(services.members_with_material(monday)))
    assert with_material == {org.member_a.id, org.member_a2.id, org.secretary_a.id}
    behind = set(db.session.scalars(stats.members_behind_reading(monday, monday)))
    assert behind == {org.member_a2.id, org.secretary_a.id}
    assert set(db.session.scalars(stats.members_behind_reading(monday, monday, branch_id=org.branch_a2.id))) == set()
    summary = stats.branch_reading_summary([org.branch_a.id, org.branch_b.id], "2026-W48")
    assert [(r["branch_id"], r["completed"]) for r in summary] == [(org.branch_a.id, 3), (org.branch_b.id, 0)]


def test_a_leaderboard_survives_a_redis_flush_unchanged(client, login, org, frozen):
    _week_with_reading(client, login, org, frozen)
    frozen("2026-11-23 21:00")
    points.award(org.member_a2_branch.id, "quota_book_read", "book:1")
    db.session.commit()
    headers = login(org.member_a)
    url = f"/api/v1/branches/{org.branch_a.id}/leaderboard?period=week"
    before = client.get(url, headers=headers).get_json()
    assert [(e["name"], e["points"], e["rank"]) for e in before["entries"]] == [("张三", 2, 1), ("李四", 1, 2)]
    assert before["me"] == {"rank": 1, "points": 2} and before["period_key"] == "2026-W48"
    committee_url = f"/api/v1/committees/{org.committee_a.id}/leaderboard?period=year"
    committee_before = client.get(committee_url, headers=headers).get_json()
    assert [e["name"] for e in committee_before["entries"]] == ["赵六", "张三", "李四"]
    get_redis().flushdb()
    assert client.get(url, headers=headers).get_json() == before
    assert client.get(committee_url, headers=headers).get_json() == committee_before


def test_an_existing_board_follows_new_points_and_ignores_rolled_back_ones(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.member_a)
    url = f"/api/v1/branches/{org.branch_a.id}/leaderboard?period=month"
    assert client.get(url, headers=headers).get_json()["entries"] == []  # builds the (empty) board
    points.award(org.member_a2.id, "quiz_full_marks", "quiz:1:a2")
    db.session.commit()
    points.award(org.member_a.id, "quiz_full_marks", "quiz:1:a")
    db.session.rollback()
    board = client.get(url, headers=headers).get_json()
    assert [(e["name"], e["points"]) for e in board["entries"]] == [("李四", 8)]
    assert board["me"] == {"rank": None, "points": 0}
    get_redis().flushdb()
    assert client.get(url, headers=headers).get_json() == board


def test_leaderboards_check_scope(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    member = login(org.member_a)
    assert client.get(f"/api/v1/branches/{org.branch_a2.id}/leaderboard", headers=member).status_code == 404
    assert client.get(f"/api/v1/committees/{org.committee_b.id}/leaderboard", headers=member).status_code == 404
    assert client.get(f"/api/v1/committees/{org.committee_a.id}/leaderboard", headers=member).status_code == 200
    assert client.get(f"/api/v1/branches/{org.branch_a2.id}/leaderboard", headers=login(org.admin_a)) \
        .status_code == 200
    assert client.get(f"/api/v1/branches/{org.branch_a.id}/leaderboard?period=decade", headers=member) \
        .status_code == 422
    sub = factories.committee("甲下属党委", parent=org.committee_a)
    assert client.get(f"/api/v1/committees/{sub.id}/leaderboard", headers=login(org.admin_a)).status_code == 200
