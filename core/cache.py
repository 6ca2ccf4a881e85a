"""The Redis handle: a real server when REDIS_URL is set, else an in-process fakeredis (with Lua).

A stalled Redis (SIGSTOP, a full network buffer) must not hold requests: every call has a short, configured socket
timeout (REDIS_CONNECT_TIMEOUT, REDIS_SOCKET_TIMEOUT), is not retried, and once Redis has failed within a request the
rest of that request's calls fail at once. What needs Redis answers 503; what only caches through it carries on
without it. Outside a request (the scheduler's and senders' long-lived app contexts) each call just has its timeout.
"""
import logging

import redis
from flask import current_app, has_request_context, request
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

log = logging.getLogger(__name__)

_STALLED = "bs.redis_stalled"


def _scope():
    # The request's own environ (a test client may share one app context across requests); outside a request, no
    # memory: a job's app context may last for hours, and one failure must not condemn the rest of it.
    return request.environ if has_request_context() else {}


class StallGuardConnection(redis.Connection):
    """A connection that fails at once if Redis already timed out in this request, and records a timeout."""

    def _guarded(self, call, *args, **kwargs):
        scope = _scope()
        if scope.get(_STALLED):
            raise RedisTimeoutError("Redis timed out earlier in this request")
        try:
            return call(*args, **kwargs)
        except RedisTimeoutError:  # stalled; a refused connection fails at once anyway, and may be retried
            scope[_STALLED] = True
            raise

    def connect(self):
        return self._guarded(super().connect)

    def send_packed_command(self, *args, **kwargs):
        return self._guarded(super().send_packed_command, *args, **kwargs)

    def read_response(self, *args, **kwargs):
        return self._guarded(super().read_response, *args, **kwargs)


def init_app(app):
    url = app.config.get("REDIS_URL")
    if url:
        pool = redis.ConnectionPool.from_url(
            url, connection_class=StallGuardConnection, decode_responses=True,
            socket_timeout=app.config["REDIS_SOCKET_TIMEOUT"],
            socket_connect_timeout=app.config["REDIS_CONNECT_TIMEOUT"],
            # One immediate retry for a dropped connection (a pooled socket from before a Redis restart), none for a
            # timeout: redis-py's default, ten retries with backoff on both, held requests 11-32 s on a stalled Redis.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            health_check_interval=30)
        client = redis.Redis(connection_pool=pool)
    else:
        import fakeredis

        # One fake server per app: every caller in this process shares it, as they would a real one.
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    app.extensions["redis"] = client


def get_redis():
    """Return the app's Redis client."""
    return current_app.extensions["redis"]


def script(source):
    """The app's Redis script for a Lua source, registered once: called by EVALSHA (redis-py loads it again after a
    Redis restart). Pass client= a pipeline or another client to run it there."""
    scripts = current_app.extensions.setdefault("redis_scripts", {})
    if source not in scripts:
        scripts[source] = get_redis().register_script(source)
    return scripts[source]


def run_scripts(calls, client=None):
    """Run several scripts, each (source, keys, args), in one round trip, in order; their replies, in order. A script
    that fails gives its error as its reply (the caller decides what it can do without), so one bad call never
    costs the others theirs.

    A redis-py pipeline of Script calls asks SCRIPT EXISTS first, a round trip of its own; this sends EVALSHA only.
    Where Redis answers NOSCRIPT (after a restart) the missing scripts are loaded and the whole batch runs again, so
    the calls are still answered in order, at one moment."""
    client = client or get_redis()
    registered = [script(source) for source, _, _ in calls]
    replies = _evalsha_all(client, registered, calls)
    missing = [runner for runner, reply in zip(registered, replies) if isinstance(reply, NoScriptError)]
    if missing:
        for runner in missing:
            runner.sha = client.script_load(runner.script)
        replies = _evalsha_all(client, registered, calls)
    return replies


def _evalsha_all(client, registered, calls):
    return pipelined([evalsha(runner, keys, args) for runner, (_, keys, args) in zip(registered, calls)], client)


def evalsha(runner, keys, args):
    """The `pipelined` command that runs a registered script (`script(source)`) by its digest."""
    return ("EVALSHA", runner.sha, len(keys), *keys, *args)


def pipelined(commands, client=None):
    """Send commands (each a tuple: name, then arguments) in one round trip; their replies in order, an error reply
    as its exception (NoScriptError for a script Redis does not hold), so one bad command never costs the others.

    What a redis-py pipeline without MULTI does on its pooled connection, without its per-call bookkeeping (retry
    accounting, timing, response callbacks, fieldset preparation), which cost the hot requests' two round trips a few
    per cent of a request's CPU (docs/bench.md, ninth round). Replies come as Redis sends them (SET: "OK"). A dropped
    connection is retried once on a new one, as the pool's Retry says; the connection itself drops a socket that
    failed mid-reply, so the pool never hands out one out of step."""
    if not commands:
        return []
    client = client or get_redis()
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        return connection.retry.call_with_retry(lambda: _exchange(connection, commands),
                                                lambda error: connection.disconnect())
    finally:
        pool.release(connection)


def _exchange(connection, commands):
    connection.send_packed_command(connection.pack_commands(commands))
    replies = []
    for _ in commands:
        try:
            replies.append(connection.read_response())
        except ResponseError as error:
            replies.append(error)
    return replies


def key(*parts):
    """Build a namespaced key, e.g. key('lb', 'branch', 3, '2026-W48') → 'bs:lb:branch:3:2026-W48'."""
    return "bs:" + ":".join(str(p) for p in parts)


class best_effort:
    """Guard a Redis call that only caches: a failure is logged with `message` and the caller carries on.

    `with best_effort("...") as cache:` then `cache.failed` says whether it did. Any error counts, not only Redis's: an
    entry that cannot be read back is as good as missing, and the database stays the truth. With the stall guard
    above, a Redis that timed out once costs a request no further waits.
    """

    def __init__(self, message):
        self.message, self.failed = message, False

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        if kind is None or not issubclass(kind, Exception):
            return False
        log.warning(self.message, exc_info=(kind, exc, traceback))
        self.failed = True
        return True
