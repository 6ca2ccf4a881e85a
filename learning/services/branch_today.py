"""A branch's list today, kept whole per branch and day (core.fresh), so that /materials/today answers a member who
has opened nothing today with no SQL.

Two entries per branch and day:
- the items: the day's material the branch sees, as a member who has not opened any of it sees it. It depends on
  the day's counter (any change to an item of that day, its audience included).
- the members: each member's streak up to yesterday, with the counters of their row and of their readings as they
  stood when it was built; a member who had already opened something today is left out. It depends on the streak
  epoch (a withdrawal can change a past day). Nothing else changes a past streak during the day: a late completion
  does not count, and material cannot be published to a past day.

A member is answered from them only if both are current, the member is listed, and their two counters still hold the
recorded values: their first open bumps the one, a branch move (or any change to their row) the other, so from then
on the per-member path answers (learning.services.today), as it does for a member who joined the branch today.
The first read that finds an entry missing or stale builds both for its branch; the scheduler builds every branch's
shortly after midnight (notifications.jobs.run_reading_day, a chunk of branches at a time), so the morning finds
them ready. Redis down: the per-member path, which reads the tables.
"""
import json
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import defer

from core import clock, fresh
from core.cache import key
from core.extensions import db
from learning import rules
from learning.models import Material, MaterialAudience, Reading
from learning.schemas import MaterialItemSchema
from learning.services.reading import no_reading_state, readings_gen
from learning.services.streaks import STREAK_EPOCH, STREAK_LOOKBACK_DAYS, STREAK_TTL_SECONDS, STREAK_WINDOW_DAYS
from learning.services.visibility import day_gen
from members.auth import member_gen, prefetched
from members.models import Member

_ITEMS = MaterialItemSchema(many=True)


def items_key(branch_id, day):
    return key("learning", "branch-items", branch_id, day.isoformat())


def members_key(branch_id, day):
    return key("learning", "branch-members", branch_id, day.isoformat())


def entries(branch_id, day):
    """The two entry keys of a branch's day (for members.auth's prefetch)."""
    return [items_key(branch_id, day), members_key(branch_id, day)]


def answer(member_id, branch_id, day, counters):
    """The member's list today as JSON text from their branch's entries, or None if those cannot tell (the caller
    takes the per-member path). `counters` must hold the member's row and readings counters, the day's counter and
    the streak epoch (learning.services.today reads them with the session)."""
    if not branch_id:
        return None
    items, seen = prefetched(items_key(branch_id, day), counters)
    if seen is None:  # Redis down
        return None
    members, _ = prefetched(members_key(branch_id, day), counters)
    if items is None or members is None:
        built = build([branch_id], day).get(branch_id)
        if built is None:
            return None
        items, members = built
    mine = json.loads(members).get(str(member_id))
    if mine is None or mine[1:] != [seen[member_gen(member_id)], seen[readings_gen(member_id)]]:
        return None
    items = json.loads(items)
    return json.dumps({"day": day.isoformat(), "items": items, "progress": {"total": len(items), "completed": 0},
                       "streak": mine[0]}, ensure_ascii=False)


def prefetch_items(member_id, branch_id):
    """What an open or a finish reads with the session (members.auth.login_required(prefetch=...)): the branch's
    items today."""
    today = clock.today()
    return ([(items_key(branch_id, today), [day_gen(today)])] if branch_id else []), []


def todays_item(branch_id, material_id):
    """Today's item `material_id` as the branch's current entry lists it — published, today's, and the branch in its
    audience — as a Material outside the session (no body); None if the entry does not say (the caller asks the
    tables: another day's item, another branch's, or no entry)."""
    if not branch_id:
        return None
    today = clock.today()
    body, _ = prefetched(items_key(branch_id, today), [day_gen(today)])
    for item in json.loads(body) if body is not None else []:
        if item["id"] == material_id:
            return Material(id=material_id, title=item["title"], day=today, status="published",
                            estimated_minutes=item["estimated_minutes"])
    return None


def build(branch_ids, day):
    """Build and store both entries of each branch: {branch id: (items JSON, members JSON)}; {} if Redis failed."""
    roster = dict(db.session.execute(select(Member.id, Member.branch_id).where(Member.branch_id.in_(branch_ids))).all())
    counters = [day_gen(day), STREAK_EPOCH,
                *(gen for member_id in roster for gen in (member_gen(member_id), readings_gen(member_id)))]
    _, seen = fresh.read([], counters)  # before the tables, as core.fresh requires
    if seen is None:
        return {}
    items = _items(branch_ids, day)
    opened = set(db.session.scalars(
        select(Reading.member_id).distinct().join(Member, Member.id == Reading.member_id)
        .where(Member.branch_id.in_(branch_ids), Reading.day == day)))
    past = past_streaks(roster, day)
    members = defaultdict(dict)
    for member_id, branch_id in roster.items():
        if member_id not in opened:
            members[branch_id][str(member_id)] = [past[member_id], seen[member_gen(member_id)],
                                                  seen[readings_gen(member_id)]]
    built = {b: (json.dumps(items.get(b, []), ensure_ascii=False), json.dumps(members.get(b, {})))
             for b in branch_ids}
    ttl_ms = STREAK_TTL_SECONDS * 1000
    fresh.fill_many([(items_key(b, day), body, [day_gen(day)]) for b, (body, _) in built.items()], seen, ttl_ms)
    fresh.fill_many([(members_key(b, day), body, [STREAK_EPOCH]) for b, (_, body) in built.items()], seen, ttl_ms)
    return built


def _items(branch_ids, day):
    """{branch id: the day's items it sees, dumped with no reading state}, in one statement."""
    rows = db.session.execute(
        select(MaterialAudience.branch_id, Material).options(defer(Material.body))
        .join(Material, Material.id == MaterialAudience.material_id)
        .where(MaterialAudience.branch_id.in_(branch_ids), Material.status == "published", Material.day == day)
        .order_by(MaterialAudience.branch_id, Material.id)).all()
    dumped = {}
    found = defaultdict(list)
    for branch_id, material in rows:
        if material.id not in dumped:
            material._state = no_reading_state(material)
            dumped[material.id] = _ITEMS.dump([material])[0]
        found[branch_id].append(dumped[material.id])
    return found


def past_streaks(roster, day):
    """{member id: their streak up to yesterday} for {member id: branch id}: the same count as
    learning.services.streaks computes for one member (the last STREAK_WINDOW_DAYS first, the whole lookback only for
    those unbroken across it), a few statements for a whole chunk of branches."""
    found, pending = {}, roster
    for days in (STREAK_WINDOW_DAYS, STREAK_LOOKBACK_DAYS):
        totals, on_day = _streak_counts(pending, day - timedelta(days=days), day - timedelta(days=1))
        unbroken = {}
        for member_id, branch_id in pending.items():
            branch_totals = totals.get(branch_id, {})
            found[member_id] = rules.streak(day, branch_totals, on_day.get(member_id, {}))
            if found[member_id] == len(branch_totals):
                unbroken[member_id] = branch_id
        if not unbroken:
            break
        pending = unbroken
    return found


def _streak_counts(roster, start, end):
    """({branch id: {day: items}}, {member id: {day: completed on that day}}) over [start, end] for the branches
    of a roster (by branch, not by member: two short IN lists however many members)."""
    branch_ids = set(roster.values())
    totals, on_day = defaultdict(dict), defaultdict(dict)
    for branch_id, material_day, count in db.session.execute(
            select(MaterialAudience.branch_id, Material.day, func.count())
            .join(Material, Material.id == MaterialAudience.material_id)
            .where(MaterialAudience.branch_id.in_(branch_ids), Material.status == "published",
                   Material.day >= start, Material.day <= end)
            .group_by(MaterialAudience.branch_id, Material.day)):
        totals[branch_id][material_day] = count
    for member_id, material_day, count in db.session.execute(
            select(Reading.member_id, Material.day, func.count())
            .join(Material, Material.id == Reading.material_id)
            .join(Member, Member.id == Reading.member_id)
            .join(MaterialAudience, and_(MaterialAudience.material_id == Material.id,
                                         MaterialAudience.branch_id == Member.branch_id))
            .where(Member.branch_id.in_(branch_ids), Material.status == "published", Material.day >= start,
                   Material.day <= end, Reading.completed_day == Material.day)
            .group_by(Reading.member_id, Material.day)):
        on_day[member_id][material_day] = count
    return totals, on_day
