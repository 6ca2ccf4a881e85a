"""A pooled PostgreSQL connection is pinged only after sitting idle, and one the server dropped meanwhile is replaced
before a request sees it (core.pool)."""
import pytest
from sqlalchemy import text

from core import pool as db_pool
from core.extensions import db
from tests import factories


@pytest.fixture
def pings(app, monkeypatch):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("connections to a server: PostgreSQL only")
    with app.app_context():
        dialect = db.engine.dialect
    seen = []
    real = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda connection: seen.append(connection) or real(connection))
    return seen


def _idle_for(monkeypatch, seconds):
    now = db_pool.time.monotonic()
    monkeypatch.setattr(db_pool.time, "monotonic", lambda: now + seconds)


def test_a_connection_in_steady_use_is_not_pinged_and_an_idle_one_is(app, client, fake_wechat, pings, monkeypatch):
    with app.app_context():
        member = factories.standard_org().member_a
        headers = factories.login_headers(client, fake_wechat, member)
    for _ in range(5):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert pings == []
    _idle_for(monkeypatch, app.config["DB_PING_IDLE_SECONDS"] + 1)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert len(pings) == 1


def test_an_idle_connection_the_server_dropped_is_replaced_before_the_request_uses_it(app, client, fake_wechat,
                                                                                      pings, monkeypatch):
    with app.app_context():
        member = factories.standard_org().member_a
        headers = factories.login_headers(client, fake_wechat, member)
        db.session.remove()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with app.app_context():  # the server ends every other session of this database, as a restart would
        db.session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        db.session.commit()
        db.session.remove()
    _idle_for(monkeypatch, app.config["DB_PING_IDLE_SECONDS"] + 1)
    try:
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 200, response.get_json()
        assert pings
    finally:
        with app.app_context():  # the pool's other connections were ended too: start the next test on new ones
            db.session.remove()
            db.engine.dispose()
