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
# session's round trip (members.ratelimit) and skip the default limit here; the rest are keyed by token or address.
# Routes add their own limits on top, on writes only (methods=["POST"] where a route also answers GET). No
# X-RateLimit-* headers: nobody reads them, and they cost every write a second Redis round trip; a refusal says when
# to retry (Retry-After, core.errors).
_DEFAULT_EXEMPT = []


def exempt_from_default_limits(check):
    """Register `check()`: when true, the request skips the default write limit (it is counted elsewhere)."""
    _DEFAULT_EXEMPT.append(check)
    return check


limiter = Limiter(key_func=writer_key, headers_enabled=False,
                  default_limits=[lambda: current_app.config["RATELIMIT_WRITES"]],
                  default_limits_exempt_when=lambda: any(check() for check in _DEFAULT_EXEMPT))


@limiter.request_filter
def _reads_are_not_limited():
    # A read skips the limiter altogether: no read is limited, and resolving which limits apply cost a hot read
    # about as much CPU as its Redis round trip.
    return is_read()
