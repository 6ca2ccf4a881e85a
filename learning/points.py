"""The points ledger (学习积分): the one service every room writes points through.

Each earning event has a unique key, so a retried request never earns twice; caps are per rule per
Asia/Shanghai day. Rows are only ever appended, in the caller's transaction (the caller commits).
"""
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from core import clock
from core.db import built_once, dialect_insert
from core.extensions import db
from learning import leaderboards
from learning.models import PointEntry
from members.models import Member


@built_once
def _append_stmt():
    # Values travel as parameters: the statement is built once and compiles once.
    return dialect_insert(PointEntry.__table__).on_conflict_do_nothing(index_elements=["event_key"]).returning(
        PointEntry.id)


def rule_spec(rule):
    """Return a rule's configuration, or raise ValueError for a rule that is not configured."""
    rules = current_app.config["POINT_RULES"]
    if rule not in rules:
        raise ValueError(f"unknown point rule: {rule}")
    return rules[rule]


def earned_on(member_id, rule, day):
    """Points a member has already earned under a rule on a local day."""
    return db.session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0))
        .where(PointEntry.member_id == member_id, PointEntry.rule == rule, PointEntry.day == day)) or 0


def capped(wanted, cap, already):
    """Points that may still be given: wanted, cut to what the daily cap leaves (never negative)."""
    if cap is None:
        return max(0, wanted)
    return max(0, min(wanted, cap - already))


def award(member_id, rule, event_key, *, occurred_at=None, points=None, meta=None):
    """Add a ledger row for an earning event in the current transaction; return the points actually awarded.

    A repeated event_key returns 0. points defaults to the rule's points; the rule's daily cap (the
    Asia/Shanghai day of occurred_at) cuts it, and a capped event is still recorded, with 0.
    """
    spec = rule_spec(rule)
    occurred_at = occurred_at or clock.now()
    day = clock.local_day_of(occurred_at)
    wanted = spec["points"] if points is None else int(points)
    if wanted < 0:
        raise ValueError("award() takes non-negative points; use revoke() to take points back")
    cap = spec.get("daily_cap")
    if cap is None:  # nothing to add up: the insert alone decides, its unique key turning a retry away
        given, member = wanted, member_id
    else:
        if db.session.scalar(select(PointEntry.id).where(PointEntry.event_key == event_key)) is not None:
            return 0
        member = _lock_member(member_id)
        given = capped(wanted, cap, earned_on(member_id, rule, day))
    row = {"member_id": member_id, "rule": rule, "points": given, "event_key": event_key,
           "occurred_at": occurred_at, "day": day, "created_at": clock.now(),
           "meta": dict(meta or {}, **({"capped_from": wanted} if given < wanted else {}))}
    if db.session.execute(_append_stmt(), row).first() is None:  # a retry, or a concurrent one, got there first
        return 0
    if given:
        leaderboards.after_commit_add(member, day, given)
    return given


def award_many(member_id, events, *, occurred_at):
    """award() for several events of one member at one moment, with one lock and one cap read; return the total.

    events: [(rule, event_key, points or None, meta)], applied in order, each exactly as award() would.
    """
    day = clock.local_day_of(occurred_at)
    keys = [e[1] for e in events]
    seen = set(db.session.scalars(select(PointEntry.event_key).where(PointEntry.event_key.in_(keys))))
    todo = [e for e in events if e[1] not in seen]
    if not todo:
        return 0
    member = _lock_member(member_id)
    rules = sorted({e[0] for e in todo})
    earned = dict(db.session.execute(
        select(PointEntry.rule, func.coalesce(func.sum(PointEntry.points), 0))
        .where(PointEntry.member_id == member_id, PointEntry.rule.in_(rules), PointEntry.day == day)
        .group_by(PointEntry.rule)).all())
    total = 0
    for rule, event_key, points, meta in todo:
        spec = rule_spec(rule)
        wanted = spec["points"] if points is None else int(points)
        if wanted < 0:
            raise ValueError("award_many() takes non-negative points; use revoke() to take points back")
        given = capped(wanted, spec.get("daily_cap"), int(earned.get(rule) or 0))
        row = {"member_id": member_id, "rule": rule, "points": given, "event_key": event_key,
               "occurred_at": occurred_at, "day": day, "created_at": clock.now(),
               "meta": dict(meta or {}, **({"capped_from": wanted} if given < wanted else {}))}
        if db.session.execute(_append_stmt(), row).first() is None:  # a concurrent retry got there first
            continue
        earned[rule] = int(earned.get(rule) or 0) + given
        total += given
    if total:
        leaderboards.after_commit_add(member, day, total)
    return total


def revoke(event_key, *, meta=None):
    """Take back what an event earned by appending a negative row (idempotent); return the points removed."""
    original = db.session.scalar(select(PointEntry).where(PointEntry.event_key == event_key))
    if original is None or original.points <= 0:
        return 0
    member = _lock_member(original.member_id)
    now = clock.now()
    day = clock.local_day_of(now)
    # The original's meta (what earned it: ids, title) is kept, so the ledger can say what was taken back.
    row = {"member_id": original.member_id, "rule": original.rule, "points": -original.points,
           "event_key": "revoke:" + event_key, "occurred_at": now, "day": day, "created_at": now,
           "meta": dict(original.meta or {}, **(meta or {}), revokes=event_key)}
    if db.session.execute(_append_stmt(), row).first() is None:
        return 0
    leaderboards.after_commit_add(member, day, -original.points)
    return original.points


# What each rule is called where a member reads it: /me/points' rules and each ledger row's label.
RULE_LABELS = {"material_studied": "完成每日学习", "study_minutes": "每日学习时长", "quiz_full_marks": "每周一测满分",
               "quiz_passed": "每周一测及格", "quiz_taken": "参加每周一测", "quota_talk_given": "交流发言",
               "quota_exchange_attended": "参加交流", "quota_book_read": "阅读书籍"}


def entry_label(rule, points, meta):
    """The Chinese line a member reads for a ledger row: what earned it (or what was taken back), with its title."""
    meta = meta or {}
    label = RULE_LABELS.get(rule, "学习积分") + (f"《{meta['title']}》" if meta.get("title") else "")
    if meta.get("upgraded_to"):
        return f"按更高档次重新计分：{label}"
    return f"撤回：{label}" if points < 0 else label


def entry_page(meta):
    """The mini-program page of what earned a ledger row (the item read, the quiz's result, the 1+4+1 page)."""
    meta = meta or {}
    if meta.get("material_id"):
        return f"pages/study/reader?id={meta['material_id']}"
    if meta.get("quiz_id"):
        return f"pages/quiz/result?id={meta['quiz_id']}"
    if meta.get("exchange_id") or meta.get("book_report_id"):
        return "pages/quota/index"
    return None


def _lock_member(member_id):
    # Serialises one member's awards so two concurrent events cannot both slip under a cap
    # (SQLite's BEGIN IMMEDIATE already serialises writers).
    stmt = select(Member).where(Member.id == member_id).options(lazyload("*"))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Member)
    member = db.session.scalar(stmt)
    if member is None:
        raise ValueError(f"no member {member_id}")
    return member


def member_points(member_id, today=None):
    """Total, this week, this year, and what each rule can still give today, for one member."""
    today = today or clock.today()
    monday = clock.week_monday(today)
    first_of_year = today.replace(month=1, day=1)
    total, week, year, today_total = db.session.execute(
        select(func.coalesce(func.sum(PointEntry.points), 0),
               func.coalesce(func.sum(PointEntry.points).filter(PointEntry.day >= monday), 0),
               func.coalesce(func.sum(PointEntry.points).filter(PointEntry.day >= first_of_year), 0),
               func.coalesce(func.sum(PointEntry.points).filter(PointEntry.day == today), 0))
        .where(PointEntry.member_id == member_id)).one()
    by_rule = dict(db.session.execute(
        select(PointEntry.rule, func.sum(PointEntry.points))
        .where(PointEntry.member_id == member_id, PointEntry.day == today).group_by(PointEntry.rule)).all())
    rules = []
    for name, spec in current_app.config["POINT_RULES"].items():
        cap = spec.get("daily_cap")
        earned = int(by_rule.get(name) or 0)
        rules.append({"rule": name, "label": RULE_LABELS.get(name, name), "points": spec["points"],
                      "daily_cap": cap, "earned_today": earned,
                      "remaining_today": None if cap is None else max(0, cap - earned)})
    return {"total": int(total), "week": int(week), "year": int(year), "today": int(today_total),
            "week_key": clock.week_key(today), "rules": rules}

