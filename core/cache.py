"""The Redis handle: a real server when REDIS_URL is set, else an in-process fakeredis (with Lua)."""
import redis
from flask import current_app


def init_app(app):
    url = app.config.get("REDIS_URL")
    if url:
        client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2,
                                      health_check_interval=30)
    else:
        import fakeredis

        # One fake server per app: every caller in this process shares it, as they would a real one.
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    app.extensions["redis"] = client


def get_redis():
    """Return the app's Redis client."""
    return current_app.extensions["redis"]


def key(*parts):
    """Build a namespaced key, e.g. key('lb', 'branch', 3, '2026-W48') → 'bs:lb:branch:3:2026-W48'."""
    return "bs:" + ":".join(str(p) for p in parts)
