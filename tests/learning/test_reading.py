"""Reading reports: the server decides completion; repeats and races never count twice; points, caps, streaks."""
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.extensions import db
from learning import rules
from learning.models import PointEntry, Reading
from learning.services import streaks
from tests.learning.helpers import publish
from tests.sql import alone_flag, as_a_request_starts, statements


def _open(client, headers, item):
    return client.post(f"/api/v1/materials/{item['id']}/reads", headers=headers)


def _finish(client, headers, item, **body):
    return client.post(f"/api/v1/materials/{item['id']}/reads/finish", json=body, headers=headers)


def _sql(seen):
    """The statements that are not a transaction's BEGIN or COMMIT."""
    return [s for s in seen if not s.startswith(("BEGIN", "COMMIT"))]


def _points(member):
    return db.session.scalar(select(func.coalesce(func.sum(PointEntry.points), 0))
                             .where(PointEntry.member_id == member.id))


@pytest.mark.parametrize("minutes, min_seconds, per_minute, expected", [
    (1, 30, 30, 30), (2, 30, 30, 60), (10, 30, 30, 300), (1, 90, 30, 90),
])
def test_required_seconds_follow_the_items_length(minutes, min_seconds, per_minute, expected):
    assert rules.required_seconds(minutes, min_seconds, per_minute) == expected


@pytest.mark.parametrize("server, client, minutes, expected", [
    (100, None, 5, 100), (100, 40, 5, 40), (100, 500, 5, 100), (99999, None, 5, 600), (-3, None, 5, 0),
])
def test_the_client_figure_only_ever_lowers_the_credit(server, client, minutes, expected):
    assert rules.credited_seconds(server, client, minutes) == expected


@pytest.mark.parametrize("seconds, expected", [(0, 0), (239, 0), (240, 1), (479, 1), (960, 4)])
def test_minute_points_count_whole_blocks(seconds, expected):
    assert rules.minute_points(seconds, 4, 1) == expected


D = date(2026, 11, 23)


@pytest.mark.parametrize("totals, done, expected", [
    ({}, {}, 0),
    ({D: 1}, {D: 1}, 1),
    ({D: 2}, {D: 1}, 0),
    ({date(2026, 11, 22): 1, D: 1}, {date(2026, 11, 22): 1}, 1),  # today still open does not break it
    ({date(2026, 11, 20): 1, date(2026, 11, 22): 1, D: 1}, {date(2026, 11, 20): 1, date(2026, 11, 22): 1, D: 1}, 3),
    ({date(2026, 11, 21): 1, date(2026, 11, 22): 1, D: 1}, {date(2026, 11, 21): 1, D: 1}, 1),
])
def test_streak_counts_complete_days_and_skips_days_without_material(totals, done, expected):
    assert rules.streak(D, totals, done) == expected


def test_a_finish_too_early_does_not_count_and_a_later_one_does(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), minutes=2)  # 2 × 30 s = 60 s needed
    member = login(org.member_a)
    opened = _open(client, member, item).get_json()
    assert opened["required_seconds"] == 60 and opened["completed"] is False
    frozen("2026-11-23 08:00")
    early = _finish(client, member, item, client_seconds=3600).get_json()
    assert early["completed"] is False and early["points_awarded"] == 0
    frozen("2026-11-23 08:01")
    lying = _finish(client, member, item, client_seconds=20).get_json()  # the client says it left early
    assert lying["completed"] is False
    frozen("2026-11-23 08:02")
    done = _finish(client, member, item).get_json()
    assert done["completed"] is True and done["points_awarded"] == 1 and done["seconds"] == 120
    today = client.get("/api/v1/materials/today", headers=member).get_json()
    assert today["progress"] == {"total": 1, "completed": 1} and today["items"][0]["state"]["completed"]


def test_a_finish_without_an_open_is_refused_and_repeats_count_once(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), minutes=1)
    member = login(org.member_a)
    refused = _finish(client, member, item)
    assert refused.status_code == 409 and refused.get_json()["code"] == "reading_not_started"
    assert _open(client, member, item).status_code == 200
    frozen("2026-11-23 08:05")
    assert _open(client, member, item).status_code == 200  # a late duplicate open does not restart the clock
    first = _finish(client, member, item).get_json()
    second = _finish(client, member, item).get_json()
    # 5 minutes open, but a 1-minute item credits at most 2 minutes: no time points, 1 for the item
    assert first["completed"] and first["points_awarded"] == 1 and first["seconds"] == 120
    assert second["completed"] and second["points_awarded"] == 0
    assert db.session.scalar(select(func.count()).select_from(Reading)) == 1
    assert _points(org.member_a) == 1


def test_concurrent_finish_reports_count_once(app, client, login, org, frozen):
    """Six phones report at once, three with a client figure too short to complete: one completes and is paid,
    the credit kept is the largest, and the short reports say how the row stood when they wrote."""
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), minutes=1)
    member = login(org.member_a)
    _open(client, member, item)
    frozen("2026-11-23 08:10")
    db.session.rollback()  # this test's own session must not hold SQLite's write lock while the phones race
    results, barrier = [], threading.Barrier(6)

    def report(body):
        local = app.test_client()
        barrier.wait()
        results.append((body, local.post(f"/api/v1/materials/{item['id']}/reads/finish", json=body, headers=member)))

    threads = [threading.Thread(target=report, args=(body,)) for body in [{}] * 3 + [{"client_seconds": 5}] * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for _, r in results] == [200] * 6
    assert sorted(r.get_json()["points_awarded"] for _, r in results) == [0, 0, 0, 0, 0, 1]
    for body, r in results:
        if not body:  # enough time: completed by itself or by a twin
            assert r.get_json()["completed"] is True and r.get_json()["seconds"] == 120
        elif r.get_json()["completed"]:  # short, after the completion
            assert r.get_json()["seconds"] == 120
        else:
            assert r.get_json()["seconds"] == 5
    db.session.expire_all()
    assert _points(org.member_a) == 1
    assert db.session.scalar(select(func.count()).select_from(PointEntry)) == 2  # item + minutes (0 points)
    row = db.session.scalar(select(Reading))
    assert row.seconds == 120 and row.completed_at is not None


def test_an_open_and_a_finish_short_of_the_time_each_write_alone(client, login, org, frozen):
    """The morning's hot writes: an open is one INSERT, a finish that does not complete one UPDATE (the reading kept
    since its open: learning.services.opened), each alone (core.db.begin_alone: on PostgreSQL in autocommit, no
    BEGIN or COMMIT round trips), nothing locked."""
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), minutes=4)  # 4 × 30 s = 120 s needed
    member = login(org.member_a)
    client.get("/api/v1/materials/today", headers=member)  # the phone's list first: the session and today's items
    as_a_request_starts()
    flags = []
    with statements(flags) as seen:
        assert _open(client, member, item).status_code == 200
    work = [i for i, s in enumerate(seen) if "readings" in s]
    assert [seen[i].split()[0] for i in work] == ["INSERT"], seen
    assert len(work) == len(_sql(seen)), seen  # nothing else: not the member again after the commit
    assert all(flags[i] is alone_flag() for i in work)
    frozen("2026-11-23 08:01")
    as_a_request_starts()
    flags = []
    with statements(flags) as seen:
        body = _finish(client, member, item).get_json()
    assert body["completed"] is False and body["seconds"] == 60 and body["finished_at"] is not None
    work = [i for i, s in enumerate(seen) if "readings" in s]
    assert [seen[i].split()[0] for i in work] == ["UPDATE"] and len(_sql(seen)) == 1, seen
    assert all(flags[i] is alone_flag() and "FOR UPDATE" not in seen[i] for i in work)
    assert db.session.scalar(select(Reading.seconds)) == 60


def test_the_item_cap_holds_and_resets_at_midnight_shanghai(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    secretary, member = login(org.secretary_a), login(org.member_a)
    items = [publish(client, secretary, title=f"第{i}篇", minutes=1) for i in range(8)]
    frozen("2026-11-23 23:50")
    for item in items:
        _open(client, member, item)
    frozen("2026-11-23 23:51")
    awarded = [_finish(client, member, item).get_json()["points_awarded"] for item in items[:7]]
    assert awarded == [1] * 6 + [0]  # material_studied caps at 6 a day; a minute each earns no time points
    frozen("2026-11-24 00:01")  # 16:01 UTC on the 23rd: the cap follows Shanghai's midnight, not UTC's
    late = _finish(client, member, items[7]).get_json()
    assert late["completed"] and late["points_awarded"] == 1  # a fresh day's cap
    mine = client.get("/api/v1/me/points", headers=member).get_json()
    assert mine["total"] == 7 and mine["today"] == 1 and mine["week"] == 7 and mine["year"] == 7
    rule = {r["rule"]: r for r in mine["rules"]}
    assert rule["material_studied"]["remaining_today"] == 5 and rule["material_studied"]["earned_today"] == 1
    assert rule["study_minutes"]["remaining_today"] == 8
    assert rule["quiz_full_marks"]["remaining_today"] is None


def test_the_streak_counts_days_studied_on_the_day_across_midnight(client, login, org, frozen):
    secretary, member = None, None
    for day in ("2026-11-21", "2026-11-22", "2026-11-23"):
        frozen(f"{day} 07:00")
        secretary = secretary or login(org.secretary_a)
        publish(client, secretary, day=day, title=f"{day} 学习", minutes=1)
    member = login(org.member_a)
    for day in ("2026-11-21", "2026-11-22"):
        frozen(f"{day} 20:00")
        item = client.get("/api/v1/materials/today", headers=member).get_json()["items"][0]
        _open(client, member, item)
        frozen(f"{day} 20:05")
        assert _finish(client, member, item).get_json()["completed"]
    frozen("2026-11-23 23:59")
    item = client.get("/api/v1/materials/today", headers=member).get_json()["items"][0]
    _open(client, member, item)
    assert client.get("/api/v1/me/reading", headers=member).get_json()["streak"] == 2  # today still open
    frozen("2026-11-24 00:01")  # finished after midnight: studied, but not on its day
    assert _finish(client, member, item).get_json()["completed"]
    mine = client.get("/api/v1/me/reading", headers=member).get_json()
    assert mine["streak"] == 0 and mine["today"] == {"total": 0, "completed": 0}
    assert mine["days"][0] == {"day": "2026-11-23", "total": 1, "completed": 1, "completed_on_day": 0}
    assert [d["day"] for d in mine["days"]] == ["2026-11-23", "2026-11-22", "2026-11-21"]


def test_a_streak_through_days_with_material_all_studied(client, login, org, frozen):
    frozen("2026-11-22 07:00")
    secretary = login(org.secretary_a)
    first = publish(client, secretary, day="2026-11-22", minutes=1)
    second = publish(client, secretary, day="2026-11-23", minutes=1)
    member = login(org.member_a)
    for item, day in ((first, "2026-11-22"), (second, "2026-11-23")):
        frozen(f"{day} 12:00")
        _open(client, member, item)
        frozen(f"{day} 12:02")
        _finish(client, member, item)
    assert client.get("/api/v1/materials/today", headers=member).get_json()["streak"] == 2


def test_a_withdrawn_or_future_item_cannot_be_read(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    secretary, member = login(org.secretary_a), login(org.member_a)
    future = publish(client, secretary, day="2026-11-24")
    assert _open(client, member, future).status_code == 404
    item = publish(client, secretary)
    client.post(f"/api/v1/materials/{item['id']}/withdraw", json={"reason": "重复发布"}, headers=secretary)
    assert _open(client, member, item).status_code == 404
    assert _finish(client, member, item).status_code == 404


def test_the_ledger_is_listed_newest_first(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), minutes=4)
    member = login(org.member_a)
    _open(client, member, item)
    frozen("2026-11-23 08:10")
    _finish(client, member, item)
    entries = client.get("/api/v1/me/points/entries", headers=member).get_json()
    assert [(e["rule"], e["points"]) for e in entries["items"]] == [("study_minutes", 2), ("material_studied", 1)]


@pytest.mark.parametrize("studied, gap_days, expected", [
    (17, 0, 17),  # longer than the window the streak is first counted in: counted over the whole lookback
    (3, 16, 3),  # days without material, more of them than the window holds, neither count nor break it
    (16, 0, 16),
])
def test_a_streak_is_counted_beyond_its_first_window(client, login, org, frozen, monkeypatch, studied, gap_days,
                                                     expected):
    monkeypatch.setitem(client.application.config, "TOKEN_TTL_SECONDS", 60 * 86400)  # one login for the weeks
    start = date(2026, 10, 1)
    for n in range(studied):
        day = (start + timedelta(days=n)).isoformat()
        frozen(f"{day} 07:00")
        secretary, member = login(org.secretary_a), login(org.member_a)
        item = publish(client, secretary, day=day, title=f"{day} 学习", minutes=1)
        frozen(f"{day} 20:00")
        _open(client, member, item)
        frozen(f"{day} 20:05")
        assert _finish(client, member, item).get_json()["completed"]
    frozen(f"{(start + timedelta(days=studied + gap_days)).isoformat()} 09:00")
    assert streaks.STREAK_WINDOW_DAYS < studied + gap_days
    assert client.get("/api/v1/me/reading", headers=member).get_json()["streak"] == expected
    assert client.get("/api/v1/materials/today", headers=member).get_json()["streak"] == expected
