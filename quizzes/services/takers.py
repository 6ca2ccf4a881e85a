"""Who has started a quiz, kept in Redis, so a member who has not costs /quizzes/current no query.

A quiz's takers (members with at least one attempt) are a set, written through: an attempt's member is added once
it commits. The set counts only while its marker lives. A rebuild from the table sets the marker, for
HOT_CACHE_SECONDS. The rebuild only adds, so it never drops a member that a start added meanwhile; the marker's
expiry bounds what an add lost while Redis was unreachable can hide, and this process retries a lost add before its
next lookup. Deleting an attempt (rare) moves the quiz to a new generation, and that generation's set is rebuilt.

`lookup` answers the questions /quizzes/current asks of Redis in one round trip: which quiz the member's branch
takes this week (quizzes.definitions' branch map), whether the member is among its takers, and the generation of that
quiz's definition (so a definition this worker keeps can be used without another round trip). /quizzes/current
runs it with the session's read when the token claims the member's branch, so a never-seen member who has not
started costs that one round trip and the fill (once the branch map and the set are in Redis).
"""
import logging

from flask import current_app

from core import clock, fresh
from core.cache import best_effort, get_redis, key, script
from core.extensions import db
from members.auth import NOT_PREFETCHED, prefetched_call
from quizzes import definitions
from quizzes.models import Attempt

log = logging.getLogger(__name__)

UNKNOWN = object()  # Redis could not say: ask the tables
SET_TTL_SECONDS = 8 * 86400  # a week's quiz and its grace, with room

# KEYS[1]: the week's branch map. ARGV: branch id, member id, then the prefixes of a quiz's takers generation
# counter, its set and its marker (each completed with "<quiz id>" or "<quiz id>:<generation>"), and of its definition
# generation (quizzes.definitions). → {quiz id or false, "1"/"0" (taker or not) or false (no complete set), the
# definition's generation}.
_LOOKUP = """
local qid = redis.call('HGET', KEYS[1], ARGV[1])
if not qid or qid == '0' then return {qid, false, false} end
local dg = redis.call('GET', ARGV[6] .. qid) or '0'
local g = redis.call('GET', ARGV[3] .. qid) or '0'
if redis.call('EXISTS', ARGV[5] .. qid .. ':' .. g) == 0 then return {qid, false, dg} end
return {qid, tostring(redis.call('SISMEMBER', ARGV[4] .. qid .. ':' .. g, ARGV[2])), dg}
"""

# ARGV: generation prefix, set prefix, quiz id, TTL seconds, member ids: add them to the current generation's set.
_ADD = """
local g = redis.call('GET', ARGV[1] .. ARGV[3]) or '0'
local set = ARGV[2] .. ARGV[3] .. ':' .. g
for i = 5, #ARGV do redis.call('SADD', set, ARGV[i]) end
redis.call('EXPIRE', set, tonumber(ARGV[4]))
return g
"""

_unadded = set()  # (quiz id, member id) whose add failed in this process: added again before its next lookup


def _gen(quiz_id=""):
    return fresh.gen_key("quiz", "takers", quiz_id)


def _set(quiz_id="", generation=None):
    return key("quiz", "takers", quiz_id) + ("" if generation is None else f":{generation}")


def _marker(quiz_id="", generation=None):
    return key("quiz", "takers-complete", quiz_id) + ("" if generation is None else f":{generation}")


def lookup_call(branch_map_key, branch_id, member_id):
    """The script call (source, keys, args) of `lookup`, which /quizzes/current also runs with the session
    (members.auth.login_required(prefetch=...))."""
    return _LOOKUP, [branch_map_key], [branch_id, member_id, _gen(), _set(), _marker(), definitions.generation_prefix()]


def prefetch(member_id, branch_id):
    """The lookup, to be read with the session (members.auth.login_required(prefetch=...)) by a member's write on
    the week's quiz: a start learns from it whether the member has started, and every write the generation of the
    quiz's definition, which lets it use the definition this worker keeps (no round trip, no JSON)."""
    return [], ([lookup_call(definitions.branch_map_key(clock.week_key()), branch_id, member_id)] if branch_id else [])


def note_prefetched(week, branch_id, member_id):
    """Learn the generation of the week's quiz definition from the lookup read with the session, if it was: no round
    trip, no rebuild (a write that needs only the definition). → that quiz's id, or None if it was not read or the
    branch has none. A branch map that has expired (or never held the branch) is filled again here, so that the
    writes after this one find it (the week's quiz then comes from it, its definition without the generation)."""
    reply = prefetched_call(*lookup_call(definitions.branch_map_key(week), branch_id, member_id))
    if reply is NOT_PREFETCHED or isinstance(reply, Exception) or reply[0] == "0":
        return None
    if reply[0] is None:
        return definitions.quiz_id_for_branch(branch_id, week)
    definitions.note_generation(int(reply[0]), reply[2])
    return int(reply[0])


def lookup(week, branch_id, member_id):
    """(quiz id or None, taken) for a member this week in one round trip (none if it was read with the session);
    either may be UNKNOWN. A quiz whose set is not complete is rebuilt here (once, under a lock), and its member then
    answered from the table. A branch map that has expired (or never held the branch) is filled again from the
    tables (quizzes.definitions.quiz_id_for_branch) and asked once more."""
    call = lookup_call(definitions.branch_map_key(week), branch_id, member_id)
    reply = prefetched_call(*call)
    if _unadded:  # an add this process lost may be missing from what was read: add it, then read again
        _retry_adds()
        reply = NOT_PREFETCHED
    with best_effort("quiz takers cache unavailable; reading the tables") as cache:
        if reply is NOT_PREFETCHED:
            reply = _ask(call)
    if not cache.failed and reply[0] is None and definitions.quiz_id_for_branch(branch_id, week) is not None:
        with best_effort("quiz takers cache unavailable; reading the tables") as cache:
            reply = _ask(call)
    if cache.failed or reply[0] is None:
        return UNKNOWN, UNKNOWN
    quiz_id, taken, definition_generation = reply
    if quiz_id == "0":
        return None, UNKNOWN
    definitions.note_generation(int(quiz_id), definition_generation)
    definitions.note_branch_quiz(definitions.branch_map_key(week), branch_id, int(quiz_id))
    if taken is None:
        _rebuild(int(quiz_id))
        return int(quiz_id), UNKNOWN
    return int(quiz_id), taken == "1"


def _ask(call):
    source, keys, args = call
    return script(source)(keys=keys, args=args, client=get_redis())


def add(quiz_id, member_id):
    """A member's attempt at a quiz has committed: they are a taker (call after commit). In a request the add goes
    out with the request's bumps, in one round trip, before the client has the response (core.fresh.call_after)."""

    def lost(error):
        log.warning("quiz takers cache unavailable; the add is retried before the next lookup: %s", error)
        _unadded.add((quiz_id, member_id))

    fresh.call_after(_ADD, [], [_gen(), _set(), quiz_id, SET_TTL_SECONDS, member_id], lost)


def forget(quiz_id):
    """An attempt at a quiz was deleted (call after commit): its takers are rebuilt from the table."""
    fresh.bump(_gen(quiz_id))


def _add(quiz_id, member_ids):
    redis = get_redis()
    return script(_ADD)(args=[_gen(), _set(), quiz_id, SET_TTL_SECONDS, *member_ids], client=redis)


def _retry_adds():
    pending = list(_unadded)
    with best_effort("quiz takers cache still unavailable") as cache:
        for quiz_id, member_id in pending:
            _add(quiz_id, [member_id])
    if not cache.failed:
        _unadded.difference_update(pending)


def _rebuild(quiz_id):
    """Add every member with an attempt to the quiz's set and mark it complete. The generation is read before the
    table, so a deletion meanwhile leaves this generation's set unused; a start meanwhile adds to the same set."""
    redis = get_redis()
    with best_effort("quiz takers cache unavailable; not rebuilding"):
        if not redis.set(key("quiz", "takers-lock", quiz_id), 1, nx=True, px=10_000):
            return  # another worker is at it: this request reads the table
        generation = redis.get(_gen(quiz_id)) or "0"
        members = _members_with_attempts(quiz_id)
        pipe = redis.pipeline(transaction=False)
        for start in range(0, len(members), 10_000):
            pipe.sadd(_set(quiz_id, generation), *members[start:start + 10_000])
        pipe.expire(_set(quiz_id, generation), SET_TTL_SECONDS)
        pipe.set(_marker(quiz_id, generation), 1, px=current_app.config["HOT_CACHE_SECONDS"] * 1000)
        pipe.delete(key("quiz", "takers-lock", quiz_id))
        pipe.execute()


def _members_with_attempts(quiz_id):
    return db.session.scalars(db.select(Attempt.member_id).where(Attempt.quiz_id == quiz_id).distinct()).all()
