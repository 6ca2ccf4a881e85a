"""A member's list today as /materials/today shows it, cached whole per member and day (core.fresh).

The entry is the response itself, read in the same Redis round trip as the session. It depends on four counters:
the member's row (members.auth: a branch moved, say), the member's readings (bumped by every open and finish), the
day's material (bumped when any item of that day is added, edited, published, withdrawn or given another audience)
and the streak epoch (bumped when any material is withdrawn, which can change a past day). Nothing in it changes by
the clock alone within the day, and the day is part of the key.
"""
import json

from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from core import clock, fresh
from core.cache import key
from learning.models import Material
from learning.services import branch_today
from learning.services.reading import readings_gen, today_for
from learning.services.streaks import STREAK_EPOCH, streak_counters, streak_entry
from learning.services.visibility import day_gen
from members.auth import member_gen, prefetched


def entry_key(member_id, day=None):
    return key("learning", "today", member_id, (day or clock.today()).isoformat())


def _counters(member_id, day):
    return [member_gen(member_id), readings_gen(member_id), day_gen(day), STREAK_EPOCH]


def prefetch(member_id, branch_id):
    """What to read with the session (members.auth.login_required(prefetch=...)): the entries and their counters —
    the member's list, their branch's (learning.services.branch_today), and the past streak that a miss of both
    needs — and no script calls."""
    today = clock.today()
    counters = _counters(member_id, today)
    branch = [(k, counters) for k in branch_today.entries(branch_id, today)] if branch_id else []
    return [(entry_key(member_id, today), counters), *branch,
            (streak_entry(member_id, today), streak_counters(member_id))], []


def today_json(member_id, branch_id, member, dump):
    """A member's list today as JSON text: their own entry, else their branch's if it can tell (no reading today),
    else built from the tables. `member()` gives the Member (only then); `dump` turns today_for() into what the
    response shows."""
    today = clock.today()
    entry = entry_key(member_id, today)
    counters = _counters(member_id, today)
    body, seen = prefetched(entry, counters)
    if body is not None:
        return body
    body = branch_today.answer(member_id, branch_id, today, counters)
    if body is not None:
        return body
    body = json.dumps(dump(today_for(member())), ensure_ascii=False)
    fresh.fill(entry, body, seen, counters, current_app.config["HOT_CACHE_SECONDS"] * 1000)
    return body


@event.listens_for(Session, "before_flush")
def _material_changing(session, flush_context, instances):
    """Any item added, changed or deleted makes the cached lists of its day (before and after the change) stale."""
    days = set()
    for material in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(material, Material):
            history = inspect(material).attrs.day.history
            days.update(d for d in [material.day, *history.deleted] if d is not None)
    if days:
        fresh.bump_after_commit(*(day_gen(d) for d in days))
