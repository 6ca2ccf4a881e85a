"""The member's week as /quizzes/current shows it, cached whole per member and week (core.fresh).

The entry is the response itself, read in the same Redis round trip as the session. It depends on three counters:
the member's row (members.auth: a role or branch change), the member's attempts at quizzes (bumped when any of their
attempts is written: start, save, submit, grading), and the week's quizzes (bumped when a quiz of the week is
created, edited, deleted or closed). It also expires at the next moment its state changes by the clock alone: the
quiz opening or closing, an attempt running out. `seconds_left` is the one field computed on every read.
"""
import json
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from core import clock, fresh
from core.cache import key
from core.db import after_commit
from members.auth import member_gen, prefetched
from quizzes import definitions
from quizzes.audience import grace
from quizzes.definitions import branch_map_key, week_gen
from quizzes.models import Attempt
from quizzes.services import takers
from quizzes.services.attempts import attempt_written, attempts_gen
from quizzes.services.week import current_state, not_started_state


def entry_key(member_id, week=None):
    return key("quiz", "current", member_id, week or clock.week_key())


def _counters(member_id, week):
    return [member_gen(member_id), attempts_gen(member_id), week_gen(week)]


def prefetch(member_id, branch_id):
    """What to read with the session (members.auth.login_required(prefetch=...)): the entry and its counters, and
    the takers lookup that a miss of the entry needs (if the token claims a branch)."""
    week = clock.week_key()
    calls = [takers.lookup_call(branch_map_key(week), branch_id, member_id)] if branch_id else []
    return [(entry_key(member_id, week), _counters(member_id, week))], calls


def current_json(member_id, role, branch_id, member, dump):
    """A member's week as JSON text. role and branch_id are the session's; `member()` gives the Member (only on a
    miss); `dump` turns current_state() into what the response shows."""
    week = clock.week_key()
    entry = entry_key(member_id, week)
    counters = _counters(member_id, week)
    body, seen = prefetched(entry, counters)
    cached = json.loads(body) if body is not None else None
    if cached is None or cached["until"] <= clock.now().timestamp():  # Redis's expiry is its own clock's
        found = takers.lookup(week, branch_id, member_id) if branch_id else None
        if role == "member" and found is not None and found[1] is False and seen is not None:
            return _not_started(found[0], week, seen[week_gen(week)], dump)

        def lookup(who):  # the answer above, for the branch it was asked for
            if who.branch_id == branch_id and found is not None:
                return found
            return takers.lookup(week, who.branch_id, who.id)

        state = current_state(member(), lookup=lookup)
        until = _valid_until(state)
        cached = {"shown": dump(state), "until": until}
        ttl = min(current_app.config["HOT_CACHE_SECONDS"], cached["until"] - clock.now().timestamp())
        fresh.fill(entry, json.dumps(cached, ensure_ascii=False), seen, counters, ttl * 1000)
    shown = cached["shown"]
    if shown["attempt"] is not None:
        shown["attempt"]["seconds_left"] = _seconds_left(shown["attempt"]["deadline_at"])
    return json.dumps(shown, ensure_ascii=False)


# (quiz id, week, the week's counter, the quiz's generation) → (JSON text, valid until, monotonic time kept); kept no
# longer than a definition is (quizzes.definitions.KEEP_SECONDS)
_NOT_STARTED = {}


def _not_started(quiz_id, week, week_generation, dump):
    """The week of a member who takes the quiz and has not started it: the same text for all of them, kept in this
    process while the week's counter and the quiz's definition generation (both read with the session) hold and the
    quiz's phase has not changed by the clock. Only for a plain member: a secretary or an admin may manage the quiz,
    and its managers do not take it."""
    generation = definitions.seen_generation(quiz_id)
    generation = None if generation in (None, "0") else generation  # none in Redis: nothing to keep it under
    memo = (quiz_id, week, week_generation, generation)
    found = _NOT_STARTED.get(memo) if generation else None
    if found is None or found[1] <= clock.now().timestamp() or time.monotonic() - found[2] > definitions.KEEP_SECONDS:
        state = not_started_state(definitions.get_definition(quiz_id), week)
        found = (json.dumps(dump(state), ensure_ascii=False), _valid_until(state), time.monotonic())
        if generation:
            if len(_NOT_STARTED) > 64:  # old weeks, counters and generations
                _NOT_STARTED.clear()
            _NOT_STARTED[memo] = found
    return found[0]


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
    for attempt in session.new:
        if isinstance(attempt, Attempt):
            attempt_written(attempt.member_id, started=attempt.quiz_id)
    changed = {a.member_id for a in session.dirty if isinstance(a, Attempt) and _shown_changed(a)}
    changed |= {a.member_id for a in session.deleted if isinstance(a, Attempt)}
    for member_id in changed:
        attempt_written(member_id)
    for quiz_id in {a.quiz_id for a in session.deleted if isinstance(a, Attempt)}:
        after_commit(takers.forget, quiz_id)


def _shown_changed(attempt):
    attrs = inspect(attempt).attrs
    return any(attrs[name].history.has_changes() for name in SHOWN)

