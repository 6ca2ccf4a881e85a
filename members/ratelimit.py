"""A member's writes, limited per member in the session's Redis round trip (RATELIMIT_WRITES, a fixed window).

Every write that carries a signed token and reaches a `login_required` view is counted by `members.auth.authenticate`
together with the session's read: one script call in that round trip, none of its own. Flask-Limiter keeps the rest,
each as before: writes with no token or a forged one (by address), the logins' limits, and a route's own limit (a
check-in's guesses); its default write limit skips the requests counted here (`core.extensions`). Redis down: the
write goes through, as Flask-Limiter lets it (RATELIMIT_SWALLOW_ERRORS).
"""
import functools

from flask import current_app, request
from limits import parse

from core.cache import key
from core.errors import RateLimited
from core.extensions import exempt_from_default_limits, is_read

# KEYS[1]: the member's counter. ARGV[1]: the window in ms. → {count in this window, ms until it resets}
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
"""


@functools.lru_cache(maxsize=8)
def _limit(text):
    return parse(text)


def call(member_id):
    """The counter's script call (source, keys, args) for this request's member, or None (a read, or limits off)."""
    if is_read() or not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    limit = _limit(current_app.config["RATELIMIT_WRITES"])
    return _HIT, [key("rl", "writes", member_id)], [limit.get_expiry() * 1000]


def check(reply):
    """Refuse the write (429, with when to retry) if the counter's reply says the window is used up; a failed call
    (Redis down) lets it through."""
    if reply is None or isinstance(reply, Exception):
        return
    count, ttl_ms = reply
    limit = _limit(current_app.config["RATELIMIT_WRITES"])
    if int(count) > limit.amount:
        raise RateLimited(details={"limit": str(limit)}, retry_after=max(1, -(-int(ttl_ms) // 1000)))


def session_limited(view):
    """Mark a view whose writes this module counts (members.auth.login_required)."""
    view.session_limited = True
    return view


@exempt_from_default_limits
def _counted_here():
    """Whether Flask-Limiter's default write limit leaves this request to the count above: a signed token, on a view
    (or a MethodView's method) whose wrapper chain holds login_required."""
    from members.auth import bearer_claims  # members.auth imports this module

    claims = bearer_claims()  # (a read never gets here: Flask-Limiter's request filter skips reads altogether)
    if claims is None or not isinstance(claims.get("mid"), int):
        return False  # only a token that authenticate counts (a signed one names its member)
    view = current_app.view_functions.get(request.endpoint)
    handler = getattr(getattr(view, "view_class", None), request.method.lower(), None)  # a MethodView's method
    return _marked(view) or _marked(handler)


def _marked(func):
    while func is not None:
        if getattr(func, "session_limited", False):
            return True
        func = getattr(func, "__wrapped__", None)
    return False
