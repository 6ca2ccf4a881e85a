"""The dashboards' rollups always equal the counts computed from the readings themselves."""
import importlib.util
import os
from datetime import date, timedelta

import pytest

from core.extensions import db
from learning import rollups, stats
from learning.models import Reading, ReadingDayRollup, ReadingWeekRollup
from members.models import Branch
from tests.learning.helpers import publish

MONDAY = date(2026, 11, 23)


def _study(client, headers, item, frozen, start, end):
    frozen(start)
    client.post(f"/api/v1/materials/{item['id']}/reads", headers=headers)
    frozen(end)
    response = client.post(f"/api/v1/materials/{item['id']}/reads/finish", json={}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _compare_every_period():
    """The rollup statement and the from-scratch one agree for every branch, each day and the week."""
    branch_ids = [b for (b,) in db.session.execute(db.select(Branch.id))]
    periods = [(MONDAY + timedelta(days=n), MONDAY + timedelta(days=n)) for n in range(7)]
    periods.append((MONDAY, MONDAY + timedelta(days=6)))
    for start, end in periods:
        fast = [dict(r._mapping) for r in db.session.execute(stats.rollup_completion_stmt(branch_ids, start, end))]
        slow = [dict(r._mapping) for r in db.session.execute(stats.scratch_completion_stmt(branch_ids, start, end))]
        assert fast == slow, (start, end)
    return periods


def _snapshot():
    days = sorted(tuple(r) for r in db.session.execute(db.select(
        ReadingDayRollup.branch_id, ReadingDayRollup.day, ReadingDayRollup.completed, ReadingDayRollup.readers)))
    weeks = sorted(tuple(r) for r in db.session.execute(db.select(
        ReadingWeekRollup.branch_id, ReadingWeekRollup.monday, ReadingWeekRollup.readers)))
    return days, weeks


def test_rollups_follow_finishes_withdrawals_deactivations_moves_and_direct_writes(client, login, org, frozen):
    frozen("2026-11-23 07:00")
    first = publish(client, login(org.secretary_a), title="周一第一篇", minutes=1)
    second = publish(client, login(org.secretary_a), title="周一第二篇", minutes=1)
    wide = publish(client, login(org.admin_a), title="全党委学习", minutes=1,
                   audience={"committee_id": org.committee_a.id}, day="2026-11-24")
    for item in (first, second):
        _study(client, login(org.member_a), item, frozen, "2026-11-23 09:00", "2026-11-23 09:05")
    _study(client, login(org.member_a2), first, frozen, "2026-11-23 10:00", "2026-11-23 10:05")
    _study(client, login(org.secretary_a), second, frozen, "2026-11-23 11:00", "2026-11-23 11:05")
    # Finished too soon: opened, not completed, counts nowhere.
    frozen("2026-11-23 12:00")
    client.post(f"/api/v1/materials/{first['id']}/reads", headers=login(org.secretary_a))
    client.post(f"/api/v1/materials/{first['id']}/reads/finish", json={}, headers=login(org.secretary_a))
    for member in (org.member_a, org.member_a2, org.member_a2_branch):
        _study(client, login(member), wide, frozen, "2026-11-24 08:00", "2026-11-24 08:10")
    # A repeated finish changes nothing.
    _study(client, login(org.member_a), wide, frozen, "2026-11-24 08:20", "2026-11-24 08:30")
    _compare_every_period()
    monday = stats.rollup_completion_stmt([org.branch_a.id], MONDAY, MONDAY)
    row = db.session.execute(monday).one()
    assert (row.completed, row.studied_members) == (4, 3)

    # Withdrawn material stops counting.
    frozen("2026-11-25 09:00")
    assert client.post(f"/api/v1/materials/{second['id']}/withdraw", json={"reason": "内容有误"},
                       headers=login(org.secretary_a)).status_code == 200
    _compare_every_period()
    assert db.session.execute(monday).one().completed == 2

    # A deactivated member's readings stop counting; a member moved to another branch counts there.
    assert client.patch(f"/api/v1/members/{org.member_a2.id}", json={"active": False},
                        headers=login(org.secretary_a)).status_code == 200
    _compare_every_period()
    moved = db.session.get(type(org.member_a), org.member_a.id)
    moved.branch_id = org.branch_a2.id
    db.session.commit()
    _compare_every_period()

    # A reading written directly through the ORM (imports, demo data) is counted as well.
    db.session.add(Reading(member_id=org.member_b.id, material_id=wide["id"], day=date(2026, 11, 24),
                           opened_at=org.member_b.created_at, seconds=120, completed_at=org.member_b.created_at,
                           completed_day=date(2026, 11, 24)))
    db.session.commit()
    _compare_every_period()

    # rebuild() from scratch gives exactly the rows kept incrementally.
    kept = _snapshot()
    assert kept[0], "the rollups hold rows"
    rollups.rebuild()
    db.session.commit()
    assert _snapshot() == kept
    # So does the migration that introduced them, with its own SQL frozen at that revision.
    _migration("learning_0002_reading_rollups").summarise_existing_readings(db.session.connection())
    db.session.commit()
    assert _snapshot() == kept


def _migration(name):
    path = os.path.join(os.path.dirname(__file__), "..", "..", "migrations", "versions", name + ".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("query", ["day=2026-11-23", "day=2026-11-24", "week=2026-W48"])
def test_the_committee_view_reads_the_rollups_with_the_same_numbers(client, login, org, frozen, query):
    frozen("2026-11-23 07:00")
    item = publish(client, login(org.admin_a), title="全党委学习", minutes=1,
                   audience={"committee_id": org.committee_a.id})
    _study(client, login(org.member_a), item, frozen, "2026-11-23 09:00", "2026-11-23 09:05")
    _study(client, login(org.member_a2_branch), item, frozen, "2026-11-23 09:00", "2026-11-23 09:05")
    frozen("2026-11-28 20:00")
    body = client.get(f"/api/v1/committees/{org.committee_a.id}/reading?{query}&per_page=1",
                      headers=login(org.admin_a)).get_json()
    start, end, _ = stats.period_from_args({"day": date.fromisoformat(query[4:])} if query.startswith("day")
                                           else {"week": query[5:]})
    branch_ids = [org.branch_a.id, org.branch_a2.id]
    slow = [stats._row(r) for r in db.session.execute(stats.scratch_completion_stmt(branch_ids, start, end))]
    assert body["branches"] == 2 and len(body["items"]) == 1
    assert body["items"][0] == {k: v for k, v in slow[0].items()}
    assert body["total"]["completed"] == sum(r["completed"] for r in slow)
    assert body["total"]["studied_members"] == sum(r["studied_members"] for r in slow)
    assert body["total"]["idle_week_members"] == sum(r["idle_week_members"] for r in slow)
