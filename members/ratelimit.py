"""A member's writes, limited per member in the session's Redis round trip (RATELIMIT_WRITES, a fixed window).

Every write that carries a signed token and reaches a `login_required` view is counted by `members.auth.authenticate`
together with the session's read: one script call in that round trip, none of its own. Flask-Limiter keeps the rest,
each as before: writes with no token or a forged one (by address), the logins' limits, and a route's own limit (a
check-in's guesses); it leaves the requests counted here alone altogether (`core.extensions`). Redis down: the
write goes through, as Flask-Limiter lets it (RATELIMIT_SWALLOW_ERRORS).
"""
import functools

from flask import current_app, request
from flask_limiter.util import get_qualified_name
from limits import parse

from core.cache import key
from core.errors import RateLimited
from core.extensions import counted_elsewhere, is_read, limiter

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


@counted_elsewhere
def _counted_here():
    """Whether Flask-Limiter leaves this write to the count above: a signed token, on a view (or a MethodView's
    method) whose wrapper chain holds login_required and that has no limit of its own (which stays Flask-Limiter's)."""
    from members.auth import bearer_claims  # members.auth imports this module

    claims = bearer_claims()  # (a read never gets here: Flask-Limiter's request filter skips reads first)
    if claims is None or not isinstance(claims.get("mid"), int):
        return False  # only a token that authenticate counts (a signed one names its member)
    route = (current_app.view_functions.get(request.endpoint), request.method)
    if route not in _ROUTES:
        _ROUTES[route] = _counts(*route)
    return _ROUTES[route]


_ROUTES = {}  # (view, method) → whether this module counts its writes: the same for every request


def _counts(view, method):
    handler = getattr(getattr(view, "view_class", None), method.lower(), None)  # a MethodView's method
    if not (_marked(view) or _marked(handler)):
        return False
    return not limiter.limit_manager.decorated_limits(get_qualified_name(view))


def _marked(func):
    while func is not None:
        if getattr(func, "session_limited", False):
            return True
        func = getattr(func, "__wrapped__", None)
    return False
