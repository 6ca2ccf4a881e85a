"""Per-branch reading completion rollups, so dashboards over thousands of branches read rows, not readings.

A rollup row is always recomputed from the readings it summarises (never incremented), under a per-branch
lock, so it equals what the from-scratch statement in learning/stats.py would count. Every write that can
change a count refreshes the rows it touches, in the writer's transaction: a completed reading (the finish
service, or any ORM insert/update of a Reading), a material's status or day, a member's branch or active flag.
Bulk loads that bypass the ORM (bench/generate.py) call rebuild().
"""
from datetime import timedelta

from sqlalchemy import Date, delete, distinct, event, exists, func, insert, inspect, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from core import clock
from core.extensions import db
from learning.models import Material, MaterialAudience, Reading, ReadingDayRollup, ReadingWeekRollup
from members.models import Branch, Member

LOCK_NAMESPACE = 7301  # pg_advisory_xact_lock(namespace, bucket): one refresher per branch at a time
LOCK_BUCKETS = 1024  # branches share 1,024 locks, so a refresh of 5,000 branches stays within the lock table
_PENDING = "learning_rollup_refresh"


def _counted(start=None, end=None):
    """Conditions for a completed reading that counts (the same as learning.stats._completed_reads)."""
    conditions = [Reading.completed_at.isnot(None), Material.status == "published", Member.active.is_(True),
                  exists().where(MaterialAudience.material_id == Reading.material_id,
                                 MaterialAudience.branch_id == Member.branch_id)]
    if start is not None:
        conditions += [Reading.day >= start, Reading.day <= end]
    return conditions


def _lock(connection, branch_ids):
    # Taken in bucket order by every refresher (no deadlock between them); a statement after the lock sees
    # what the previous holder committed. SQLite already runs one writer at a time.
    if connection.dialect.name == "postgresql" and branch_ids:
        buckets = sorted({b % LOCK_BUCKETS for b in branch_ids})
        connection.execute(text("SELECT pg_advisory_xact_lock(:ns, b) FROM unnest(CAST(:ids AS integer[])) AS b "
                                "ORDER BY b"), {"ns": LOCK_NAMESPACE, "ids": buckets})


def refresh(branch_ids, days=None, connection=None, lock=True):
    """Recompute the rollups of these branches for these local days and their ISO weeks (None: all days)."""
    branch_ids = sorted({b for b in branch_ids if b is not None})
    if not branch_ids:
        return
    conn = connection if connection is not None else db.session.connection()
    if lock:
        _lock(conn, branch_ids)
    base = (select(Member.branch_id, Reading.day, func.count(Reading.id), func.count(distinct(Reading.member_id)))
            .join(Member, Member.id == Reading.member_id).join(Material, Material.id == Reading.material_id)
            .where(Member.branch_id.in_(branch_ids), *_counted()))
    if days is None:
        conn.execute(delete(ReadingDayRollup).where(ReadingDayRollup.branch_id.in_(branch_ids)))
        conn.execute(delete(ReadingWeekRollup).where(ReadingWeekRollup.branch_id.in_(branch_ids)))
        _insert_days(conn, base)
        monday = _monday_sql(conn)
        conn.execute(insert(ReadingWeekRollup).from_select(
            ["branch_id", "monday", "readers"],
            select(Member.branch_id, monday.label("m"), func.count(distinct(Reading.member_id)))
            .join(Member, Member.id == Reading.member_id).join(Material, Material.id == Reading.material_id)
            .where(Member.branch_id.in_(branch_ids), *_counted()).group_by(Member.branch_id, monday)))
        return
    days = sorted(set(days))
    conn.execute(delete(ReadingDayRollup).where(ReadingDayRollup.branch_id.in_(branch_ids),
                                                ReadingDayRollup.day.in_(days)))
    _insert_days(conn, base.where(Reading.day.in_(days)))
    for monday in sorted({clock.week_monday(d) for d in days}):
        conn.execute(delete(ReadingWeekRollup).where(ReadingWeekRollup.branch_id.in_(branch_ids),
                                                     ReadingWeekRollup.monday == monday))
        conn.execute(insert(ReadingWeekRollup).from_select(
            ["branch_id", "monday", "readers"],
            select(Member.branch_id, literal(monday, Date).label("m"), func.count(distinct(Reading.member_id)))
            .join(Member, Member.id == Reading.member_id).join(Material, Material.id == Reading.material_id)
            .where(Member.branch_id.in_(branch_ids), *_counted(monday, monday + timedelta(days=6)))
            .group_by(Member.branch_id)))


def after_completion(branch_id, day):
    """Bring one branch's rows for a day and its week up to date after a reading was completed.

    A completion only adds to what counts, so the recomputed rows are upserted (PostgreSQL: three statements
    instead of five); elsewhere it is refresh().
    """
    conn = db.session.connection()
    if conn.dialect.name != "postgresql" or branch_id is None:
        return refresh([branch_id], [day], conn)

    _lock(conn, [branch_id])
    monday = clock.week_monday(day)
    counted = (select(Member.branch_id, Reading.day, func.count(Reading.id), func.count(distinct(Reading.member_id)))
               .join(Member, Member.id == Reading.member_id).join(Material, Material.id == Reading.material_id)
               .where(Member.branch_id == branch_id, Reading.day == day, *_counted())
               .group_by(Member.branch_id, Reading.day))
    stmt = pg_insert(ReadingDayRollup).from_select(["branch_id", "day", "completed", "readers"], counted)
    conn.execute(stmt.on_conflict_do_update(index_elements=["branch_id", "day"], set_={
        "completed": stmt.excluded.completed, "readers": stmt.excluded.readers}))
    week = (select(Member.branch_id, literal(monday, Date), func.count(distinct(Reading.member_id)))
            .join(Member, Member.id == Reading.member_id).join(Material, Material.id == Reading.material_id)
            .where(Member.branch_id == branch_id, *_counted(monday, monday + timedelta(days=6)))
            .group_by(Member.branch_id))
    stmt = pg_insert(ReadingWeekRollup).from_select(["branch_id", "monday", "readers"], week)
    conn.execute(stmt.on_conflict_do_update(index_elements=["branch_id", "monday"], set_={
        "readers": stmt.excluded.readers}))


def _insert_days(conn, stmt):
    conn.execute(insert(ReadingDayRollup).from_select(
        ["branch_id", "day", "completed", "readers"], stmt.group_by(Member.branch_id, Reading.day)))


def _monday_sql(conn):
    # The Monday of a reading's day, computed by the database (rebuilds group every day at once).
    if conn.dialect.name == "postgresql":
        return func.date_trunc("week", Reading.day).cast(db.Date)
    return func.date(Reading.day, "weekday 0", "-6 days")


def rebuild(connection=None):
    """Recompute every rollup from the readings (after a bulk load that bypassed the ORM, with no traffic)."""
    conn = connection if connection is not None else db.session.connection()
    conn.execute(delete(ReadingDayRollup))
    conn.execute(delete(ReadingWeekRollup))
    branch_ids = [b for (b,) in conn.execute(select(Branch.id))]
    for i in range(0, len(branch_ids), 1000):
        refresh(branch_ids[i:i + 1000], None, conn, lock=False)


# --- ORM writes that change what counts ----------------------------------------------------------

def _old_and_new(obj, name):
    history = inspect(obj).attrs[name].history
    return {v for v in list(history.deleted or ()) + [getattr(obj, name)] if v is not None}


@event.listens_for(Session, "before_flush")
def _collect(session, flush_context, instances):
    pending = session.info.setdefault(_PENDING, {"reads": set(), "branches": set(), "materials": set()})
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Reading):
            if obj in session.new and obj.completed_at is None:
                continue
            if obj in session.new or inspect(obj).attrs.completed_at.history.has_changes() \
                    or inspect(obj).attrs.day.history.has_changes():
                pending["reads"].update((obj.member_id, d) for d in _old_and_new(obj, "day"))
        elif isinstance(obj, Member) and obj in session.dirty:
            state = inspect(obj).attrs
            if state.active.history.has_changes() or state.branch_id.history.has_changes():
                pending["branches"].update(_old_and_new(obj, "branch_id"))
        elif isinstance(obj, Material) and obj in session.dirty:
            state = inspect(obj).attrs
            if state.status.history.has_changes() or state.day.history.has_changes():
                pending["materials"].update((obj.id, d) for d in _old_and_new(obj, "day"))


@event.listens_for(Session, "after_flush")
def _apply(session, flush_context):
    pending = session.info.pop(_PENDING, None)
    if not pending or not any(pending.values()):
        return
    conn = session.connection()
    if pending["branches"]:  # a member joined, left or changed branch: every day of those branches
        refresh(pending["branches"], None, conn)
    if pending["reads"]:
        members = {m for m, _ in pending["reads"]}
        branches = [b for (b,) in conn.execute(select(Member.branch_id).distinct().where(Member.id.in_(members)))]
        refresh(branches, {d for _, d in pending["reads"]}, conn)
    for material_id, day in pending["materials"]:
        branches = [b for (b,) in conn.execute(select(MaterialAudience.branch_id)
                                               .where(MaterialAudience.material_id == material_id))]
        refresh(branches, [day], conn)
