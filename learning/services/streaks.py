"""A member's progress: per-day counts, the reading streak (cached per member in Redis), the history, the ledger."""
from datetime import timedelta

from sqlalchemy import and_, func, select

from core import clock, fresh
from core.cache import key
from core.errors import Invalid
from core.extensions import db
from learning import rules
from learning.models import Material, PointEntry, Reading
from learning.services.visibility import visible_clause
from members.auth import member_gen, prefetched


def _day_counts(member, start, end):
    """({day: items}, {day: completed}, {day: completed on that day}) for a member over [start, end]."""
    if not member.branch_id:
        return {}, {}, {}
    totals = dict(db.session.execute(
        select(Material.day, func.count()).where(visible_clause(member), Material.day >= start, Material.day <= end)
        .group_by(Material.day)).all())
    done = {}
    on_day = {}
    for day, completed, same_day in db.session.execute(
            select(Reading.day, func.count(Reading.completed_at),
                   func.count(Reading.completed_at).filter(Reading.completed_day == Reading.day))
            .join(Material, Material.id == Reading.material_id)
            .where(Reading.member_id == member.id, Reading.day >= start, Reading.day <= end, visible_clause(member))
            .group_by(Reading.day)):
        done[day], on_day[day] = completed, same_day
    return totals, done, on_day


STREAK_LOOKBACK_DAYS = 400
STREAK_WINDOW_DAYS = 14


STREAK_TTL_SECONDS = 2 * 86400


def reading_streak(member, today=None, today_counts=None):
    """Consecutive days on which the member studied every item of the day, on that day.

    today_counts, (items today, completed today), saves a query when the caller already has them.
    """
    today = today or clock.today()
    if today_counts is None:
        totals, _, on_day = _day_counts(member, today, today)
        today_counts = (totals.get(today, 0), on_day.get(today, 0))
    total, done = today_counts
    return _past_streak(member, today) + (1 if total and done >= total else 0)


def _past_streak(member, today):
    # Days before today are settled (material cannot be published to a past day, and a late completion does not
    # count), so their part of the streak is cached per member and day (core.fresh), read with the session by
    # /materials/today. It depends on the member's row (their branch), on the member's completions and on an epoch
    # bumped on any withdrawal. Redis down: computed.
    if not member.branch_id:
        return 0
    entry, counters = streak_entry(member.id, today), streak_counters(member.id)
    body, seen = prefetched(entry, counters)
    if body is not None:
        return int(body)
    value = _computed_past_streak(member, today)
    fresh.fill(entry, str(value), seen, counters, STREAK_TTL_SECONDS * 1000)
    return value


def _computed_past_streak(member, today):
    """The streak up to yesterday from the tables: the last STREAK_WINDOW_DAYS first (most streaks break within
    them), the whole STREAK_LOOKBACK_DAYS only if it runs through every day of that window with material."""
    yesterday = today - timedelta(days=1)
    totals, on_day = _streak_days(member, today - timedelta(days=STREAK_WINDOW_DAYS), yesterday)
    value = rules.streak(today, totals, on_day)
    if value == len(totals):  # unbroken across the window (or no material in it): it may go further back
        totals, on_day = _streak_days(member, today - timedelta(days=STREAK_LOOKBACK_DAYS), yesterday)
        value = rules.streak(today, totals, on_day)
    return value


def _streak_days(member, start, end):
    """({day: items}, {day: completed on that day}) over [start, end], in one statement.

    The same counts as _day_counts: the member's visible material per day, left-joined to their readings.
    """
    totals, on_day = {}, {}
    for day, total, same_day in db.session.execute(
            select(Material.day, func.count(),
                   func.count(Reading.completed_at).filter(Reading.completed_day == Material.day))
            .outerjoin(Reading, and_(Reading.material_id == Material.id, Reading.member_id == member.id))
            .where(visible_clause(member), Material.day >= start, Material.day <= end).group_by(Material.day)):
        totals[day] = total
        if same_day:
            on_day[day] = same_day
    return totals, on_day


STREAK_EPOCH = key("learning", "streak-epoch")


def streak_entry(member_id, today):
    return key("learning", "streak", member_id, today.isoformat())


def _streak_gen(member_id):
    return fresh.gen_key("learning", "streak", member_id)


def streak_counters(member_id):
    """What a member's cached past streak depends on."""
    return [STREAK_EPOCH, member_gen(member_id), _streak_gen(member_id)]


def forget_streak(member_id):
    """Make a member's cached streak stale (after a completion was committed)."""
    fresh.bump(_streak_gen(member_id))


def forget_all_streaks():
    """Make every cached streak stale (after material was withdrawn)."""
    fresh.bump(STREAK_EPOCH)


def my_reading(member, args):
    """Today's progress, the streak, and per-day history (default: the last 30 days)."""
    today = clock.today()
    end = min(args.get("end") or today, today)
    start = args.get("start") or end - timedelta(days=29)
    if start > end:
        raise Invalid.field("开始日期不能晚于结束日期", "from", "晚于 to")
    if (end - start).days > 366:
        raise Invalid.field("一次最多查询 366 天", "from", "范围过大")
    totals, done, on_day = _day_counts(member, start, end)
    days = [{"day": d, "total": totals[d], "completed": done.get(d, 0), "completed_on_day": on_day.get(d, 0)}
            for d in sorted(totals, reverse=True)]
    today_totals, today_done, _ = _day_counts(member, today, today)
    return {"today": {"total": today_totals.get(today, 0), "completed": today_done.get(today, 0)},
            "streak": reading_streak(member, today), "days": days}


def point_entries(member):
    """A select of a member's ledger rows, newest first by when they were earned (the id breaks ties, so pages
    never overlap)."""
    return (select(PointEntry).where(PointEntry.member_id == member.id)
            .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc()))
