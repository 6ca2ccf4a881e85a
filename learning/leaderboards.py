"""Leaderboards: Redis sorted sets per branch/committee and week/month/year, rebuilt from the ledger when missing.

The database is the truth. A board key that is missing (flushed, expired) is rebuilt with one GROUP BY;
a board that exists is kept current by adding each award after its transaction commits. An add that fails (Redis
down or stalled: it may even be applied late) marks its boards in leaderboard_misses, and a marked board is rebuilt
at its next read, so a board is never left wrong until its TTL.
"""
import logging
import uuid
from datetime import date

from flask import current_app
from sqlalchemy import delete, func, select

from core import clock, fresh
from core.cache import get_redis, key
from core.db import after_commit, dialect_insert
from core.errors import Invalid
from core.extensions import db
from learning.models import LeaderboardMiss, PointEntry
from members import auth
from members.models import Branch, Committee, Member
from members.scope import subtree_committee_ids

log = logging.getLogger(__name__)

PERIODS = ("week", "month", "year")
SCOPES = ("branch", "committee")
SENTINEL = "~"  # keeps an empty board a key that exists, so "missing" always means "rebuild"

# Add to each of the award's boards that exists: a missing board will be rebuilt from the ledger, which has the row.
_ADD_IF_EXISTS = """
for _, board in ipairs(KEYS) do
  if redis.call('EXISTS', board) == 1 then
    redis.call('ZINCRBY', board, ARGV[2], ARGV[1])
  end
end
return 1
"""


def period_key(period, day):
    """The key of the week ('2026-W48'), month ('2026-11') or year ('2026') holding a local day."""
    if period == "week":
        return clock.week_key(day)
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "year":
        return str(day.year)
    raise ValueError(period)


def period_days(period, day):
    """[first day, first day after) of the period holding a local day."""
    if period == "week":
        monday = clock.week_monday(day)
        return monday, date.fromordinal(monday.toordinal() + 7)
    if period == "month":
        first = day.replace(day=1)
        return first, date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    if period == "year":
        return date(day.year, 1, 1), date(day.year + 1, 1, 1)
    raise ValueError(period)


def board_key(scope, scope_id, period, day):
    return key("lb", scope, scope_id, period, period_key(period, day))


def _targets(member):
    """The boards a member's points count on: their branch, their committee and every committee above it.

    `member` is a Member or a member id. The request's own member (nearly every award: a submit, a finish) is placed
    by their session (members.auth.own_placement) and their committee's path, which never changes once created, is
    kept by this process; anyone else's branch and path are read together in one query.
    """
    own = auth.own_placement(member) if isinstance(member, int) else None
    if own is not None:
        branch_id, path = own[0], _committee_path(own[1])
    elif isinstance(member, int):
        branch_id, path = db.session.execute(
            select(Member.branch_id, Committee.path).join(Committee, Committee.id == Member.committee_id)
            .where(Member.id == member)).one()
    else:
        branch_id = member.branch_id
        path = db.session.scalar(select(Committee.path).where(Committee.id == member.committee_id))
    targets = [("branch", branch_id)] if branch_id else []
    targets += [("committee", int(c)) for c in (path or "").strip("/").split("/") if c]
    return targets


_paths = {}  # committee id -> its path: set when the committee is created (members.services), never changed


def _committee_path(committee_id):
    if committee_id is None:
        return None
    path = _paths.get(committee_id)
    if path is None:
        path = db.session.scalar(select(Committee.path).where(Committee.id == committee_id))
        if path and path.endswith(f"/{committee_id}/"):  # complete (a committee being created has "/" for a moment)
            if len(_paths) > 100_000:
                _paths.clear()
            _paths[committee_id] = path
    return path


def forget_paths():
    """Forget the kept paths: for a database whose ids start over (the tests empty every table between tests)."""
    _paths.clear()


def after_commit_add(member, day, points):
    """Queue points for the member's (a Member or an id) existing boards; applied only if the transaction commits."""
    keys = [board_key(scope, scope_id, period, day) for scope, scope_id in _targets(member) for period in PERIODS]
    member_id = member if isinstance(member, int) else member.id
    after_commit(_add, keys, str(member_id), points)


def _add(keys, member_id, points):
    # One script call for every board of the award, sent with the request's bumps (core.fresh.call_after): no round
    # trip of its own in a request, none for SCRIPT EXISTS.
    def missed(error):
        log.warning("leaderboard update failed; boards marked for a rebuild: %s", error)
        _mark_missed(keys)

    fresh.call_after(_ADD_IF_EXISTS, keys, [member_id, points], missed)


def _mark_missed(keys):
    """Record in the database that these boards missed an update (the session's transaction is over)."""
    stmt = dialect_insert(LeaderboardMiss.__table__)
    stmt = stmt.on_conflict_do_update(index_elements=["board_key"],
                                      set_={"misses": LeaderboardMiss.__table__.c.misses + 1})
    try:
        with db.engine.begin() as conn:
            conn.execute(stmt, [{"board_key": k, "misses": 1} for k in keys])
    except Exception:  # the database is gone too: the board's TTL is all that is left
        log.exception("could not mark leaderboards for a rebuild")


def rebuild(scope, scope_id, period, day):
    """Rebuild one board from the ledger (one GROUP BY) and swap it in atomically."""
    first, after = period_days(period, day)
    where = [PointEntry.day >= first, PointEntry.day < after]
    if scope == "branch":
        where.append(Member.branch_id == scope_id)
    else:
        where.append(Member.committee_id.in_(subtree_committee_ids(scope_id)))
    rows = db.session.execute(
        select(PointEntry.member_id, func.sum(PointEntry.points)).join(Member, Member.id == PointEntry.member_id)
        .where(*where).group_by(PointEntry.member_id)).all()
    redis = get_redis()
    target = board_key(scope, scope_id, period, day)
    temp = f"{target}:build:{uuid.uuid4().hex}"
    pipe = redis.pipeline()
    pipe.zadd(temp, {SENTINEL: float("-inf")})
    scores = {str(member_id): int(total) for member_id, total in rows if total}
    items = list(scores.items())
    for start in range(0, len(items), 5000):
        pipe.zadd(temp, dict(items[start:start + 5000]))
    pipe.expire(temp, current_app.config.get("LEADERBOARD_TTL_SECONDS", 3600))
    pipe.rename(temp, target)
    pipe.execute()
    return target


def board(scope, scope_id, period, day, limit=50, viewer_id=None):
    """The top of a board with names and ranks (ties share a rank), plus the viewer's own place."""
    if period not in PERIODS:
        raise Invalid.field("排行周期应为 week、month 或 year", "period", "无效的周期")
    redis = get_redis()
    target = board_key(scope, scope_id, period, day)
    missed = db.session.scalar(select(LeaderboardMiss.misses).where(LeaderboardMiss.board_key == target))
    if missed is not None or not redis.exists(target):
        rebuild(scope, scope_id, period, day)
    if missed is not None:  # only the misses this rebuild has seen: one recorded meanwhile waits for the next read
        db.session.execute(delete(LeaderboardMiss).where(LeaderboardMiss.board_key == target,
                                                         LeaderboardMiss.misses == missed))
        db.session.commit()
    top = [(m, s) for m, s in redis.zrevrange(target, 0, limit, withscores=True) if m != SENTINEL][:limit]
    size = max(0, redis.zcard(target) - 1)
    ids = [int(m) for m, _ in top]
    if viewer_id is not None and str(viewer_id) not in {m for m, _ in top}:
        ids.append(viewer_id)
    people = {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))} if ids else {}
    branches = dict(db.session.execute(
        select(Branch.id, Branch.name).where(Branch.id.in_({m.branch_id for m in people.values() if m.branch_id})))
        .all()) if people else {}
    entries, rank, previous = [], 0, None
    for position, (member_id, score) in enumerate(top, start=1):
        if score != previous:
            rank, previous = position, score
        person = people.get(int(member_id))
        entries.append({"rank": rank, "member_id": int(member_id), "points": int(score),
                        "name": person.name if person else "", "branch": branches.get(getattr(person, "branch_id",
                                                                                                None))})
    me = None
    if viewer_id is not None:
        score = redis.zscore(target, str(viewer_id))
        if score is not None:
            me = {"rank": redis.zcount(target, f"({score}", "+inf") + 1, "points": int(score)}
        else:
            me = {"rank": None, "points": 0}
    return {"scope": scope, "scope_id": scope_id, "period": period, "period_key": period_key(period, day),
            "size": size, "entries": entries, "me": me}


def clear_boards():
    """Drop every cached board (they rebuild from the ledger on next read)."""
    redis = get_redis()
    for name in redis.scan_iter(match=key("lb", "*")):
        redis.delete(name)
