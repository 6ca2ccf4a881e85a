"""A quiz's definition (settings, items, questions) cached in Redis: what the member flow reads instead of the tables.

A quiz changes rarely (an edited question becomes a new version; a quiz's settings change only through
`services.update_quiz`), so its definition is cached by id and dropped by `clear_definition` when the quiz is
edited or deleted; a read racing that edit cannot put the old definition back. Redis down means reading the
tables, never an error. `closed_at` is not part of it: it changes, and the member flow decides phases from
opens_at/closes_at.
"""
import json
import secrets
import time
from collections import OrderedDict
from datetime import datetime

from flask import has_request_context, request

from core import fresh
from core.cache import best_effort, get_redis, key, script
from core.extensions import db
from quizzes import audience
from quizzes.models import Quiz

TTL_SECONDS = 7 * 24 * 3600
SETTINGS = ("id", "title", "week_key", "committee_id", "branch_id", "time_limit_minutes", "max_attempts",
            "total_score", "pass_score", "reveal_answers")
QUESTION_FIELDS = ("id", "kind", "stem", "options", "answer", "explanation")


class QuestionDef:
    """A quiz question as grading and the member's view need it."""

    __slots__ = QUESTION_FIELDS

    def __init__(self, **values):
        for name in QUESTION_FIELDS:
            setattr(self, name, values[name])


class ItemDef:
    """A question in a quiz, with its points."""

    __slots__ = ("question_id", "position", "points", "question")

    def __init__(self, question_id, position, points, question):
        self.question_id, self.position, self.points, self.question = question_id, position, points, question


class QuizDef:
    """The cached part of a Quiz, with the attributes the member flow reads from a Quiz."""

    def __init__(self, data):
        for name in SETTINGS:
            setattr(self, name, data[name])
        self.opens_at = datetime.fromisoformat(data["opens_at"])
        self.closes_at = datetime.fromisoformat(data["closes_at"])
        self.items = [ItemDef(i["question_id"], i["position"], i["points"], QuestionDef(**i["question"]))
                      for i in data["items"]]
        self.questions = {item.question_id: item.question for item in self.items}

    phase = Quiz.phase


def _to_data(quiz):
    data = {name: getattr(quiz, name) for name in SETTINGS}
    data["opens_at"], data["closes_at"] = quiz.opens_at.isoformat(), quiz.closes_at.isoformat()
    data["items"] = [{"question_id": item.question_id, "position": item.position, "points": item.points,
                      "question": {name: getattr(item.question, name) for name in QUESTION_FIELDS}}
                     for item in quiz.items]
    return data


def _cache_key(quiz_id):
    return key("quiz", "def", quiz_id)


def _generation_key(quiz_id):
    return key("quiz", "gen", quiz_id)


# A reader that missed may have read the tables just before an edit committed. It fills the cache only if the quiz's
# generation, changed by every clear, is still the one it saw before reading: a stale definition never lands. A
# generation is a value never used before (ARGV[4] names one, set here if the quiz had none): so a worker's kept
# definition (below) never matches a generation that came back after an edit, a Redis restart or an expiry.
# → the generation the entry is stored under, or false if it changed meanwhile.
_FILL_IF_UNCHANGED = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return false end
if ARGV[1] == '0' then redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[3]) end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return redis.call('GET', KEYS[1])
"""


_MEMO = "bs.quiz_definitions"  # per request: a job's app context may last for hours
_SEEN = "bs.quiz_generations"  # generations Redis gave this request along with other answers

# A worker also keeps the definitions it read, each under the generation it was read at, for KEEP_SECONDS: a request
# that already learnt a quiz's generation from Redis (takers.lookup returns it with the branch map) uses the kept one
# if the generation still matches, with no round trip and no JSON to parse. An edit's clear sets a generation never
# used before, so a kept definition is never used once the edit has cleared, on any worker; a quiz with no
# generation in Redis (never filled, or Redis emptied) has nothing kept under it.
KEEP_SECONDS = 60
KEEP_ENTRIES = 64
_kept = OrderedDict()  # quiz id -> (generation, QuizDef, monotonic time kept)


def get_definition(quiz_id):
    """The definition of a quiz from the cache, else from the tables (and then cached); None if no such quiz.

    Kept for the rest of the request too (a start or a submit reads it twice), until the request itself clears it.
    """
    memo = request.environ.setdefault(_MEMO, {}) if has_request_context() else {}
    if quiz_id not in memo:
        memo[quiz_id] = _kept_definition(quiz_id) or _definition(quiz_id)
    return memo[quiz_id]


def note_generation(quiz_id, generation):
    """A quiz's generation as Redis gave it to this request (with another answer, in the same round trip)."""
    if has_request_context():
        request.environ.setdefault(_SEEN, {})[quiz_id] = generation


def note_branch_quiz(map_key, branch_id, quiz_id):
    """The quiz a branch takes, as Redis's branch map `map_key` gave it to this request along with another answer
    (quizzes.services.takers.lookup): quiz_id_for_branch answers from it for the rest of the request."""
    if has_request_context():
        request.environ.setdefault(_BRANCH_QUIZ, {})[(map_key, branch_id)] = quiz_id


_BRANCH_QUIZ = "bs.branch_quizzes"


def seen_generation(quiz_id):
    """The quiz's generation as Redis gave it to this request (note_generation), or None."""
    return request.environ.get(_SEEN, {}).get(quiz_id) if has_request_context() else None


def _kept_definition(quiz_id):
    generation = seen_generation(quiz_id)
    kept = _kept.get(quiz_id)
    if generation is None or kept is None or kept[0] != generation or time.monotonic() - kept[2] > KEEP_SECONDS:
        return None
    return kept[1]


def _keep(quiz_id, generation, definition):
    if not generation:  # none, or changed while we read: nothing to keep it under
        return
    _kept[quiz_id] = (generation, definition, time.monotonic())
    _kept.move_to_end(quiz_id)
    while len(_kept) > KEEP_ENTRIES:
        _kept.popitem(last=False)


def _definition(quiz_id):
    redis, generation = get_redis(), None
    with best_effort("quiz definition cache unavailable") as cache:  # Redis down or a bad entry: tables are truth
        cached, generation = redis.mget(_cache_key(quiz_id), _generation_key(quiz_id))
        if cached:
            definition = QuizDef(json.loads(cached))
            _keep(quiz_id, generation, definition)
            return definition
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None:
        return None
    data = _to_data(quiz)
    definition = QuizDef(data)
    if not cache.failed:
        with best_effort("quiz definition cache unavailable"):
            stored_under = script(_FILL_IF_UNCHANGED)(
                keys=[_generation_key(quiz_id), _cache_key(quiz_id)],
                args=[generation or "0", json.dumps(data, ensure_ascii=False), TTL_SECONDS, secrets.token_hex(8)],
                client=redis)
            _keep(quiz_id, stored_under, definition)  # read after that generation was: never older than it
    return definition


def generation_prefix():
    """Where a quiz's generation counter lives, less the quiz id (for a script that reads it: takers.lookup)."""
    return _generation_key("")


def clear_definition(quiz_id, week):
    """Forget a quiz's cached definition (it was edited or deleted), and turn away fills begun before now; the
    members' cached weeks of `week` (quizzes.services.current) go stale with it."""
    if has_request_context():
        request.environ.pop(_MEMO, None)
    with best_effort("quiz definition cache unavailable; entry expires on its own"):
        pipe = get_redis().pipeline()
        pipe.set(_generation_key(quiz_id), secrets.token_hex(8), ex=TTL_SECONDS)
        pipe.delete(_cache_key(quiz_id))
        pipe.execute()
    fresh.bump(week_gen(week))


BRANCH_MAP_TTL_SECONDS = 60


def branch_map_key(week):
    return key("quiz", "branches", week)


def quiz_id_for_branch(branch_id, week):
    """The id of the quiz a branch takes in a week (its own, else the nearest committee's: quizzes.audience), or None.

    Cached per week in one Redis hash holding every branch, filled at once on a miss (one query, whatever the
    number of branches), dropped whenever a quiz of that week is created or deleted; the short TTL bounds what a
    read racing such a change can leave behind.
    """
    map_key = branch_map_key(week)
    noted = request.environ.get(_BRANCH_QUIZ, {}) if has_request_context() else {}
    if (map_key, branch_id) in noted:
        return noted[map_key, branch_id]
    redis = get_redis()
    with best_effort("quiz lookup cache unavailable") as cache:
        cached = redis.hget(map_key, branch_id)
        if cached is not None:
            return int(cached) or None
    if cache.failed:
        return audience.quiz_id_for_branch(branch_id, week)
    found = audience.week_map(week)
    with best_effort("quiz lookup cache unavailable"):
        pipe = redis.pipeline()
        pipe.hset(map_key, mapping={b: q or 0 for b, q in found.items()} or {branch_id: 0})
        pipe.expire(map_key, BRANCH_MAP_TTL_SECONDS, nx=True)
        pipe.execute()
    return found.get(branch_id)


def clear_week(week):
    """Forget which quiz each branch takes in a week (a quiz of that week was created, moved, closed or deleted),
    and with it the members' cached weeks (quizzes.services.current)."""
    if has_request_context():
        request.environ.pop(_BRANCH_QUIZ, None)
    with best_effort("quiz lookup cache unavailable; it expires on its own"):
        get_redis().delete(branch_map_key(week))
    fresh.bump(week_gen(week))


def week_gen(week):
    """The counter of a week's quizzes, which every member's cached week depends on."""
    return fresh.gen_key("quiz", "week", week)
