"""Cache entries that carry the generations they were built from, so a hot read costs one Redis round trip.

A hot read (who is this token, this member's quiz this week, their list today) is cached whole, per member. Each
entry names the generation counters it depends on and the value each had *before* the tables were read; every
change to those facts bumps its counter after it commits. `read` checks every entry against the counters in the
same round trip (one Lua script), so an entry built from rows that changed since — even by a read that raced the
change, and on any worker — is a miss, never a stale answer. Time-bound facts (a quiz opening, an attempt running
out) are handled by the entry's own expiry, set by whoever fills it.

Redis down or slow: `read` misses, `fill` and `bump` do nothing, and the caller reads the tables (core.cache's stall
guard keeps that quick). A bump that fails is kept in this process and retried before its next read, and every entry
also expires within its TTL, so a change made while Redis was unreachable cannot be hidden for long either.
"""
import logging

from flask import has_request_context, request
from redis.exceptions import NoScriptError, RedisError

from core.cache import best_effort, evalsha, get_redis, key, pipelined, run_scripts, script
from core.db import after_commit

log = logging.getLogger(__name__)

# KEYS: the entries (ARGV[1] of them), then counters. An entry is "<gen key>=<value>;...\n<body>"; its body is
# returned only if every counter it names still holds the value it records (a missing counter reads as 0). Then the
# counters' values, which a caller that misses records in the entry it fills. false becomes a nil reply without
# ending the array.
_READ = """
local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  local body = false
  if v then
    local nl = string.find(v, '\\n', 1, true)
    if nl then
      body = string.sub(v, nl + 1)
      for gk, gv in string.gmatch(string.sub(v, 1, nl - 1), '([^;=]+)=([^;]*)') do
        if (redis.call('GET', gk) or '0') ~= gv then body = false break end
      end
    end
  end
  out[i] = body
end
for i = n + 1, #KEYS do
  out[i] = redis.call('GET', KEYS[i]) or '0'
end
return out
"""

_FILLS = "bs.fresh_fills"  # fills of this request, stored in one pipeline after the view

_unbumped = set()  # counters whose bump failed in this process: bumped again before the next read


def gen_key(*parts):
    """The key of a generation counter, e.g. gen_key('auth', 7)."""
    return key("gen", *parts)


def read(keys, counters=()):
    """(bodies, seen) in one round trip: each entry's body if still current, else None; and {counter: value} now,
    for a miss to record in what it fills (read before the tables, as it must be). seen is None if Redis failed."""
    bodies, seen, _ = read_along(keys, counters)
    return bodies, seen


def read_along(keys, counters=(), calls=()):
    """`read`, with more scripts, each (source, keys, args), run in the same round trip: (bodies, seen, their
    replies); replies is None if Redis failed, and a call that failed on its own has its error as its reply."""
    if _unbumped:
        _retry_bumps()
    if has_request_context() and request.environ.get(_BUMPS):  # read after this request's own change
        _store((), request.environ.pop(_BUMPS))
    with best_effort("hot-read cache unavailable; reading the tables"):
        values, *replies = run_scripts([(_READ, [*keys, *counters], [len(keys)]), *calls], get_redis())
        if isinstance(values, Exception):
            raise values
        return list(values[:len(keys)]), dict(zip(counters, values[len(keys):])), replies
    return [None] * len(keys), None, None


def fill(entry_key, body, seen, counters, ttl_ms):
    """Store an entry built after `read` saw `seen`, depending on `counters` (a subset of it); nothing if Redis
    failed at that read. In a request, every fill is stored in one pipeline once the view has answered."""
    fill_many([(entry_key, body, counters)], seen, ttl_ms)


def fill_many(entries, seen, ttl_ms):
    """`fill` for many entries built after one `read` (each (key, body, counters)), stored in one pipeline: for a job
    that builds entries in bulk outside a request."""
    if seen is None or ttl_ms <= 0 or not entries:
        return
    stored = [(k, ";".join(f"{c}={seen[c]}" for c in counters) + "\n" + body, int(ttl_ms))
              for k, body, counters in entries]
    if has_request_context():
        request.environ.setdefault(_FILLS, []).extend(stored)
        return
    _store(stored)


def init_app(app):
    app.after_request(_store_fills)
    app.teardown_request(_bump_left)


def _store_fills(response):
    """Once the view has answered and before the client has the response: this request's fills, bumps and calls
    (`call_after`), in one pipeline (a write pays one round trip for all of them)."""
    fills = request.environ.pop(_FILLS, None)
    bumps = request.environ.pop(_BUMPS, None)
    calls = request.environ.pop(_CALLS, None)
    if fills or bumps or calls:
        _store(fills or [], bumps or (), calls or ())
    return response


def _bump_left(_error=None):
    # A request that ended in an unhandled error skips after_request; what it committed still goes stale, and what
    # was to follow its commit still follows.
    bumps = request.environ.pop(_BUMPS, None)
    calls = request.environ.pop(_CALLS, None)
    if bumps or calls:
        _store((), bumps or (), calls or ())


def _store(fills, bumps=(), calls=()):
    answered = []
    with best_effort("hot-read cache unavailable; not filling, the bumps are retried before the next read") as cache:
        client = get_redis()
        replies = pipelined([*(("SET", entry_key, value, "PX", ttl_ms) for entry_key, value, ttl_ms in fills),
                             *(("INCR", gen) for gen in bumps),
                             *(evalsha(script(source), keys, args) for source, keys, args, _ in calls)], client)
        stored, answered = replies[:len(replies) - len(calls)], replies[len(replies) - len(calls):]
        failed = next((reply for reply in stored if isinstance(reply, Exception)), None)
        if failed is not None:
            raise failed
        unknown = [i for i, reply in enumerate(answered) if isinstance(reply, NoScriptError)]
        if unknown:  # Redis restarted since the scripts were loaded: those calls (only) again, loaded first
            for i, reply in zip(unknown, run_scripts([calls[i][:3] for i in unknown], client)):
                answered[i] = reply
    if cache.failed:
        _unbumped.update(bumps)
        answered = [RedisError("Redis unavailable")] * len(calls)
    for (_, _, _, on_failure), reply in zip(calls, answered):
        if isinstance(reply, Exception):
            on_failure(reply)


_CALLS = "bs.fresh_calls"  # scripts this request runs once it has answered, with its fills and bumps


def call_after(source, keys, args, on_failure):
    """Run a script once the current request has answered, in the round trip of its fills and bumps (outside a
    request: now). `on_failure(error)` if it fails: Redis down, or the script's own error. For what must follow a
    commit before the client hears of it, as a bump does (call it after the commit: quizzes.services.takers.add,
    learning.leaderboards)."""
    if has_request_context():
        request.environ.setdefault(_CALLS, []).append((source, keys, args, on_failure))
        return
    _store((), (), [(source, keys, args, on_failure)])


_BUMPS = "bs.fresh_bumps"  # counters this request changed (committed), bumped with its fills


def bump(*gen_keys):
    """Advance counters: every entry built from them becomes stale (call once the change is committed). In a
    request they go out with its fills, before the client has the response; the request's own reads bump first."""
    if not gen_keys:
        return
    if has_request_context():
        request.environ.setdefault(_BUMPS, set()).update(gen_keys)
        return
    _store((), gen_keys)


def bump_after_commit(*gen_keys):
    """Advance counters once the current transaction commits (nothing if it rolls back)."""
    after_commit(bump, *gen_keys)


def _retry_bumps():
    pending = list(_unbumped)
    _unbumped.difference_update(pending)
    _store((), pending)  # kept again if it fails again
