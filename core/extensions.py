"""Extensions, created unbound here and bound to the app in the factory."""
import hashlib

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Named constraints so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate(compare_type=True, render_as_batch=True)


def writer_key():
    """Key a write by its bearer token (one member's session), else by address."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return "t:" + hashlib.sha256(header.encode()).hexdigest()[:24]
    return "ip:" + (get_remote_address() or "-")


def is_read():
    """Whether the request only reads (no read is ever rate limited)."""
    return request.method in ("GET", "HEAD", "OPTIONS")


# Every write is limited (RATELIMIT_WRITES); reads are not. A signed-in member's writes are counted per member in the
# session's round trip (members.ratelimit), and Flask-Limiter leaves them alone; the rest are keyed by token or
# address. Routes add their own limits on top, on writes only (methods=["POST"] where a route also answers GET). No
# X-RateLimit-* headers: nobody reads them, and they cost every write a second Redis round trip; a refusal says when
# to retry (Retry-After, core.errors).
_COUNTED_ELSEWHERE = []


def counted_elsewhere(check):
    """Register `check()`: when true, Flask-Limiter leaves the request alone (its writes are counted elsewhere)."""
    _COUNTED_ELSEWHERE.append(check)
    return check


limiter = Limiter(key_func=writer_key, headers_enabled=False,
                  default_limits=[lambda: current_app.config["RATELIMIT_WRITES"]])


@limiter.request_filter
def _not_limited_here():
    # A read skips the limiter altogether: no read is limited, and resolving which limits apply cost a hot read
    # about as much CPU as its Redis round trip. So does a write counted elsewhere: resolving them cost a member's
    # write a tenth of its CPU.
    return is_read() or any(check() for check in _COUNTED_ELSEWHERE)
