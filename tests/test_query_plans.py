"""A member's own rows are found by their key, even in the hour the week's quiz or the day's material turns hot.

PostgreSQL's statistics hold this week's quiz and today's material as empty until the next ANALYZE (they were, when it
last ran). With an index that starts with the quiz or the material alone, it scanned every row of the hot key for each
member's lookup: `GET /quizzes/current` fell to a seventh of its speed after the soak's few thousand submits. These
tests rebuild that moment on copies of the real tables, with the migrations' indexes, and read the plan.
"""
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from core.extensions import db
from notifications.lease import due_rows
from notifications.models import CLAIMABLE

OLD, HOT = 1, 2  # keys that ANALYZE saw full, and the new one it saw empty


def _plan(sql, **params):
    return db.session.execute(text("EXPLAIN (FORMAT JSON) " + sql), params).scalar()  # psycopg parses the JSON


def _scans(node):
    yield node
    for child in node.get("Plans", []):
        yield from _scans(child)


def _lookup_scan(plan, table):
    [scan] = [n for n in _scans(plan[0]["Plan"]) if n.get("Relation Name") == table]
    return scan


@pytest.fixture
def pg(ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's; SQLite has no statistics to go stale")
    yield
    db.session.rollback()


def _stale_copy(table, rows_sql):
    """A temp copy of `table` with its indexes, analyzed while HOT had no rows, then HOT filled with 3,000 members."""
    db.session.execute(text(f"CREATE TEMP TABLE t_{table} (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)"))
    db.session.execute(text(rows_sql.format(t=f"t_{table}", key=OLD, members=20_000)))
    db.session.execute(text(f"ANALYZE t_{table}"))
    db.session.execute(text(rows_sql.format(t=f"t_{table}", key=HOT, members=3_000)))
    return f"t_{table}"


def test_a_members_reading_of_the_hot_material_is_found_by_its_key(pg):
    table = _stale_copy("readings", (
        "INSERT INTO {t} (id, member_id, material_id, day, opened_at, seconds, completed_at, completed_day) "
        "SELECT {key} * 100000 + m, m, {key}, '2026-11-23', now(), 300, now(), '2026-11-23' "
        "FROM generate_series(1, {members}) m"))
    scan = _lookup_scan(_plan(f"SELECT * FROM {table} WHERE member_id = :m AND material_id = :k FOR UPDATE",
                              m=1500, k=HOT), table)
    assert scan["Node Type"] == "Index Scan"
    assert "member_id" in scan["Index Cond"] and "material_id" in scan["Index Cond"], scan


def test_a_members_attempts_and_result_in_the_hot_quiz_are_found_by_their_key(pg):
    attempts = _stale_copy("quiz_attempts", (
        "INSERT INTO {t} (id, quiz_id, member_id, number, status, \"order\", answers, started_at, deadline_at, late) "
        "SELECT {key} * 100000 + m, {key}, m, 1, CASE WHEN m % 3 = 0 THEN 'in_progress' ELSE 'submitted' END, "
        "'[]', '{{}}', now(), now(), false FROM generate_series(1, {members}) m"))
    results = _stale_copy("quiz_results", (
        "INSERT INTO {t} (id, quiz_id, member_id, branch_id, attempt_id, score, passed, attempts, submitted_at) "
        "SELECT {key} * 100000 + m, {key}, m, m % 50, {key} * 100000 + m, 90, true, 1, now() "
        "FROM generate_series(1, {members}) m"))
    # quizzes.services.week._week_rows, as the ORM sends it
    plan = _plan(f"SELECT a.id, a.status, r.score FROM {attempts} a LEFT OUTER JOIN {results} r "
                 "ON r.quiz_id = a.quiz_id AND r.member_id = a.member_id "
                 "WHERE a.quiz_id = :k AND a.member_id = :m ORDER BY a.number", m=1500, k=HOT)
    for table in (attempts, results):
        scan = _lookup_scan(plan, table)
        assert "Index" in scan["Node Type"], scan
        conditions = scan.get("Index Cond", "") + scan.get("Recheck Cond", "")
        assert "member_id" in conditions and "Filter" not in scan, scan
    # quizzes.services.attempts._in_progress: the open attempts' index is keyed by member too
    scan = _lookup_scan(_plan(f"SELECT * FROM {attempts} WHERE quiz_id = :k AND member_id = :m "
                              "AND status = 'in_progress'", m=1500, k=HOT), attempts)
    assert "member_id" in scan.get("Index Cond", ""), scan


def test_a_senders_claim_reads_the_first_due_rows_of_one_status_in_index_order(pg):
    """The 08:00 push queues 100,000 rows with a few hundred distinct due times. A claim takes the first 100 of one
    status straight from ix_notifications_status_due; "status IN (pending, sending) ORDER BY due, id" sorted every
    due row on each claim (280 ms with 300,000 queued: the senders' PostgreSQL time in #19's push)."""
    db.session.execute(text("CREATE TEMP TABLE notifications "  # shadows the real table in this session
                            "(LIKE public.notifications INCLUDING DEFAULTS INCLUDING INDEXES)"))
    db.session.execute(text(
        "INSERT INTO notifications (id, idem_key, kind, channel, title, body, payload, essential, status, attempts, "
        "next_attempt_at, created_at) SELECT n, 'k' || n, 'daily_material', 'wechat', 't', 'b', '{}', false, "
        "CASE WHEN n % 20 = 0 THEN 'sent' ELSE 'pending' END, 0, "
        "timestamptz '2026-11-30 00:00Z' + (n / 2000) * interval '1 second', now() FROM generate_series(1, 60000) n"))
    db.session.execute(text("ANALYZE notifications"))
    for status in CLAIMABLE:
        stmt = due_rows(status, 100, datetime(2026, 11, 30, 1, tzinfo=timezone.utc)).compile(dialect=db.engine.dialect)
        plan = db.session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(stmt), stmt.params).scalar()
        nodes = list(_scans(plan[0]["Plan"]))
        assert not [n for n in nodes if "Sort" in n["Node Type"]], nodes
        [scan] = [n for n in nodes if n.get("Relation Name") == "notifications"]
        assert scan["Node Type"] == "Index Scan", scan  # the copy of ix_notifications_status_due, under another name
        assert "status" in scan["Index Cond"] and "next_attempt_at" in scan["Index Cond"], scan
