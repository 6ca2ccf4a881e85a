"""Column types shared by every domain, and the session's recurring moves: lock a row, insert once, commit or
answer Conflict, run something after the commit."""
from datetime import timezone

from sqlalchemy import BigInteger, DateTime, Integer, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

from core.extensions import db

# BIGINT on PostgreSQL for high-volume tables; SQLite only autoincrements INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Store aware datetimes as UTC and always hand back aware UTC, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class IdConverter(IntegerConverter):
    """The `int` path converter, bounded to what a BIGINT id can hold: a larger id is simply not found."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def locked(stmt, **for_update):
    """`stmt` under row locks (FOR UPDATE; `read=True` for FOR SHARE), its rows read afresh over what the session holds.

    populate_existing makes the checks that follow see the locked row, not an older copy; SQLite ignores the lock
    (its writers are serial anyway).
    """
    return stmt.with_for_update(**for_update).execution_options(populate_existing=True)


def lock_row(model, row_id, share=False):
    """Re-read one row by id under a row lock (FOR SHARE with share=True)."""
    return db.session.scalar(locked(select(model).where(model.id == row_id), of=model, read=share))


def commit_or_conflict(conflict, flush=False):
    """Commit (flush=True: only flush); a unique key a racing writer took first rolls back and raises `conflict`."""
    try:
        db.session.flush() if flush else db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise conflict


def inserted(row, commit=False):
    """Add `row` and flush it (commit=True: commit); False when a racing twin holds its unique key (rolled back).

    The caller then returns the twin: the same request sent twice gets the same answer.
    """
    db.session.add(row)
    try:
        db.session.commit() if commit else db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def dialect_insert(target):
    """An INSERT with the dialect's ON CONFLICT clauses (PostgreSQL or SQLite), for idempotent writes."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(target)


_AFTER_COMMIT = "core.after_commit"


def after_commit(func, *args):
    """Run func(*args) once the current transaction commits (cache drops, board updates); never if it rolls back."""
    db.session().info.setdefault(_AFTER_COMMIT, []).append((func, args))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session):
    for func, args in session.info.pop(_AFTER_COMMIT, []):
        func(*args)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session):
    session.info.pop(_AFTER_COMMIT, None)
