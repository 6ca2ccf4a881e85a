"""core.direct: a one-statement write on a pooled psycopg connection, past SQLAlchemy's execution — the same rows,
the same errors, the pool kept sound (PostgreSQL: on SQLite core.db.alone runs every statement in the session)."""
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import JSON, Integer, bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from core import clock, direct
from core.db import UTCDateTime
from core.extensions import db
from learning.models import PointEntry
from tests.sql import statements


@pytest.fixture
def engine(app, ctx):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("core.direct runs on PostgreSQL only (core.db.alone)")
    db.session.close()  # the pool's connections are all free
    return db.engine


_TYPED = text("SELECT CAST(:at AS timestamptz) AS at, CAST(:doc AS json) AS doc, :n + 1 AS n").bindparams(
    bindparam("at", type_=UTCDateTime), bindparam("doc", type_=JSON), bindparam("n", type_=Integer),
).columns(at=UTCDateTime, doc=JSON, n=Integer)


def test_rows_come_back_as_sqlalchemy_gives_them_and_listeners_hear_the_statement(engine):
    params = {"at": clock.now() - timedelta(hours=3), "doc": {"答案": ["A", None], "n": 1}, "n": 41}
    with engine.connect() as connection:
        expected = connection.execute(_TYPED, params).all()
    autocommitted = []
    with statements(autocommitted=autocommitted) as seen:
        rows = direct.run(engine, _TYPED, params)
    assert direct._direct(engine, _TYPED, params) is not None  # it ran past SQLAlchemy's execution
    assert [tuple(r) for r in rows] == [tuple(r) for r in expected]
    assert rows[0].at == params["at"] and rows[0].at.utcoffset() == timedelta(0)
    assert rows[0].doc == params["doc"] and rows[0].n == 42
    assert len(seen) == 1 and seen[0].startswith("SELECT CAST(") and autocommitted == [True]


def _entry(member_id, key):
    now = clock.now()
    return {"member_id": member_id, "rule": "test", "points": 1, "event_key": key, "occurred_at": now,
            "day": clock.local_day_of(now), "meta": {"t": "同一键"}, "created_at": now}


_ENTRY = insert(PointEntry.__table__).returning(PointEntry.__table__.c.id)


def test_a_taken_unique_key_is_sqlalchemys_integrity_error_and_writes_nothing(engine, org):
    member_id = org.member_a.id
    db.session.close()
    first = direct.run(engine, _ENTRY, _entry(member_id, "direct:once"))
    assert direct._direct(engine, _ENTRY, _entry(member_id, "direct:once")) is not None
    with pytest.raises(IntegrityError):
        direct.run(engine, _ENTRY, _entry(member_id, "direct:once"))
    keys = db.session.execute(select(PointEntry.id).where(PointEntry.event_key == "direct:once")).scalars().all()
    assert keys == [first[0].id]
    db.session.close()
    # The connection that failed went back to the pool in a usable state: the next statement is written.
    assert direct.run(engine, _ENTRY, _entry(member_id, "direct:twice"))[0].id > first[0].id


def test_a_statement_with_defaults_computed_in_python_goes_through_sqlalchemy(engine, org):
    values = {k: v for k, v in _entry(org.member_a.id, "direct:defaults").items() if k not in ("meta", "created_at")}
    db.session.close()
    assert direct._direct(engine, _ENTRY, values) is None
    direct.run(engine, _ENTRY, values)
    meta, created = db.session.execute(select(PointEntry.meta, PointEntry.created_at)
                                       .where(PointEntry.event_key == "direct:defaults")).one()
    assert meta == {} and timedelta(0) <= clock.now() - created < timedelta(seconds=30)


def test_a_connection_the_server_dropped_fails_its_statement_cleanly_and_the_next_one_is_fresh(app, engine):
    held = [engine.raw_connection() for _ in range(2)]  # the pool holds two once they are back
    for connection in held:
        connection.close()
    pid = direct.run(engine, text("SELECT pg_backend_pid() AS pid"), {})[0].pid
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as admin:  # as a restart drops them: every one the pool holds
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    assert pid is not None
    with pytest.raises(OperationalError):  # core.errors answers it with a 503
        direct.run(engine, text("SELECT 1 AS one"), {})
    # Not the other one the pool held, dropped too: the pool let go of every connection as old as the failed one.
    assert direct.run(engine, text("SELECT 1 AS one"), {})[0].one == 1
