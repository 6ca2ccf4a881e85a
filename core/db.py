"""Column types shared by every domain, and the session's recurring moves: lock a row, insert once, commit or
answer Conflict, run a one-statement write alone, run something after the commit."""
import functools
from datetime import timezone

from sqlalchemy import JSON, BigInteger, DateTime, Integer, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

from core import direct
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


def begin_alone():
    """The session's next statement is a write that is whole in itself: on PostgreSQL it runs in autocommit, one
    round trip where a transaction costs three (psycopg sends BEGIN on its own, then the statement, then COMMIT).

    Only for a statement whose WHERE or ON CONFLICT says when it applies (nothing read first can change in between),
    and then commit (the session's after-commit work runs as on any commit); each statement after it runs alone too
    until that commit. A session whose transaction already holds a connection keeps it: the statement runs there.
    """
    session = db.session()
    if not _connected(session) and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _connected(session):
    """Whether the session's transaction holds a connection yet (a transaction begins without one: adding the
    request's Member, members.auth, begins it). SQLAlchemy has no public flag for it."""
    transaction = session.get_transaction()
    return transaction is not None and bool(transaction._connections)


def alone(stmt, params=None):
    """Execute one statement alone (as `begin_alone` says), commit, and return its rows.

    On PostgreSQL, when the session holds no connection yet, the statement goes straight to a pooled connection in
    autocommit, past the session's machinery (a quarter of such a statement's CPU) and SQLAlchemy's execution
    (core.direct); then the session's after-commit work runs as on any commit. The session itself is left as it was
    when it has nothing to write (its commit would only expire what it holds — the request's member, whose next
    touch would read the row again — at a quarter of the statement's CPU); else it commits."""
    session = db.session()
    if _connected(session) or session.get_bind().dialect.name != "postgresql":
        rows = session.execute(stmt, params).all()
        session.commit()
        return rows
    rows = direct.run(db.engine, stmt, params or {})
    settle()
    return rows


def settle():
    """Commit, as `alone` does after its statement: a session with nothing to write and no transaction holding a
    connection only runs its after-commit work (a commit would only expire what it holds); else it commits. For
    after-commit work said after an `alone` write (quizzes.services.attempts: the submit's bump and boards)."""
    session = db.session()
    if session.new or session.dirty or session.deleted or _connected(session):
        session.commit()
    else:
        _run_after_commit(session)


def built_once(build):
    """Decorate `build()`, which builds a statement for the session's dialect (say with `dialect_insert`): it is
    built once per dialect and reused, its values given as parameters, so a hot write neither builds it nor computes
    its cache key again."""
    built = {}

    @functools.wraps(build)
    def statement():
        dialect = db.session.get_bind().dialect.name
        if dialect not in built:
            built[dialect] = build()
        return built[dialect]

    return statement


class json_merged(FunctionElement):
    """`json_merged(column, patch)`: the JSON object in `column` with the keys of `patch` set, and those set to null
    removed (RFC 7396's merge of one level, as an UPDATE's value): jsonb's || on PostgreSQL, json_patch on SQLite."""

    type = JSON()
    inherit_cache = True


@compiles(json_merged, "postgresql")
def _json_merged_postgresql(element, compiler, **kw):
    column, patch = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(jsonb_strip_nulls(CAST({column} AS JSONB) || CAST({patch} AS JSONB)) AS JSON)"


@compiles(json_merged, "sqlite")
def _json_merged_sqlite(element, compiler, **kw):
    column, patch = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"json_patch({column}, {patch})"


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
