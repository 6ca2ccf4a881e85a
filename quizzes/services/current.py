"""The member's week as /quizzes/current shows it, cached whole per member and week (core.fresh).

The entry is the response itself, read in the same Redis round trip as the session. It depends on three counters:
the member's row (members.auth: a role or branch change), the member's attempts at quizzes (bumped when any of their
attempts is written: start, save, submit, grading), and the week's quizzes (bumped when a quiz of the week is
created, edited, deleted or closed). It also expires at the next moment its state changes by the clock alone: the
quiz opening or closing, an attempt running out. `seconds_left` is the one field computed on every read.
"""
import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from core import clock, fresh
from core.cache import key
from core.db import after_commit
from members.auth import member_gen, prefetched
from quizzes.audience import grace
from quizzes.definitions import branch_map_key, week_gen
from quizzes.models import Attempt
from quizzes.services import takers
from quizzes.services.attempts import current_state


def entry_key(member_id, week=None):
    return key("quiz", "current", member_id, week or clock.week_key())


def attempts_gen(member_id):
    """The counter of a member's attempts: bumped whenever one of them is written."""
    return fresh.gen_key("quiz", "attempts", member_id)


def _counters(member_id, week):
    return [member_gen(member_id), attempts_gen(member_id), week_gen(week)]


def prefetch(member_id, branch_id):
    """What to read with the session (members.auth.login_required(prefetch=...)): the entry and its counters, and
    the takers lookup that a miss of the entry needs (if the token claims a branch)."""
    week = clock.week_key()
    calls = [takers.lookup_call(branch_map_key(week), branch_id, member_id)] if branch_id else []
    return [(entry_key(member_id, week), _counters(member_id, week))], calls


def current_json(member_id, member, dump):
    """A member's week as JSON text. `member()` gives the Member (only on a miss); `dump` turns current_state() into
    what the response shows."""
    week = clock.week_key()
    entry = entry_key(member_id, week)
    counters = _counters(member_id, week)
    body, seen = prefetched(entry, counters)
    cached = json.loads(body) if body is not None else None
    if cached is None or cached["until"] <= clock.now().timestamp():  # Redis's expiry is its own clock's
        state = current_state(member(), lookup=lambda who: takers.lookup(branch_map_key(week), who.branch_id, who.id))
        until = _valid_until(state)
        cached = {"shown": dump(state), "until": until}
        ttl = min(current_app.config["HOT_CACHE_SECONDS"], cached["until"] - clock.now().timestamp())
        fresh.fill(entry, json.dumps(cached, ensure_ascii=False), seen, counters, ttl * 1000)
    shown = cached["shown"]
    if shown["attempt"] is not None:
        shown["attempt"]["seconds_left"] = _seconds_left(shown["attempt"]["deadline_at"])
    return json.dumps(shown, ensure_ascii=False)


def _seconds_left(deadline_iso):
    deadline = datetime.fromisoformat(deadline_iso)
    return max(0, int((deadline - clock.now()).total_seconds()))


def _valid_until(state):
    """The next moment (a timestamp) the state changes by the clock alone; the entry must not outlive it."""
    now = clock.now()
    moments = []
    quiz = state["quiz"]
    if quiz is not None:
        moments += [quiz.opens_at, quiz.closes_at, quiz.closes_at + grace()]
    if state["attempt"] is not None:
        moments.append(state["attempt"].deadline_at + grace() + timedelta(seconds=1))
    later = [m for m in moments if m > now]
    return min(later).timestamp() if later else now.timestamp() + 24 * 3600


SHOWN = ("status", "deadline_at", "number", "quiz_id", "member_id")  # what of an attempt the week shows or keys on


@event.listens_for(Session, "before_flush")
def _attempts_changing(session, flush_context, instances):
    """An attempt started, submitted, graded, re-timed or deleted makes its member's cached week stale on commit
    (an autosave changes nothing the week shows, so it leaves the entry alone)."""
    members = {a.member_id for a in session.new if isinstance(a, Attempt)}
    members |= {a.member_id for a in session.dirty if isinstance(a, Attempt) and _shown_changed(a)}
    members |= {a.member_id for a in session.deleted if isinstance(a, Attempt)}
    if members:
        fresh.bump_after_commit(*(attempts_gen(m) for m in members))
    for attempt in session.new:
        if isinstance(attempt, Attempt):
            after_commit(takers.add, attempt.quiz_id, attempt.member_id)
    for quiz_id in {a.quiz_id for a in session.deleted if isinstance(a, Attempt)}:
        after_commit(takers.forget, quiz_id)


def _shown_changed(attempt):
    attrs = inspect(attempt).attrs
    return any(attrs[name].history.has_changes() for name in SHOWN)

