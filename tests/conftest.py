"""Fixtures: one app per session on SQLite+fakeredis (default) or PostgreSQL+Redis (DATABASE_URL/REDIS_URL)."""
import os
import random
import uuid

import pytest
import sqlalchemy as sa

from core import clock
from tests import factories
from tests.fakes import FakeWeChat


def _database_url(tmp_path_factory):
    url = os.environ.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db"), None
    # A database of our own, so parallel runs on one server never see each other's rows.
    name = f"bs_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}", (admin, name)


def _redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
    return f"{base}/{random.randint(1, 15)}"


@pytest.fixture(scope="session")
def fake_wechat():
    fake = FakeWeChat(appid="wx-test-appid", secret="test-app-secret")
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def app(tmp_path_factory, fake_wechat):
    from flask_migrate import upgrade

    from core.app import create_app

    db_url, created = _database_url(tmp_path_factory)
    app = create_app({
        "APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "test-secret",
        "DATABASE_URL": db_url, "REDIS_URL": _redis_url(),
        "WECHAT_APPID": "wx-test-appid", "WECHAT_SECRET": "test-app-secret",
        "WECHAT_API_BASE": fake_wechat.base_url, "WECOM_API_BASE": fake_wechat.base_url,
        "INSTANCE_DIR": str(tmp_path_factory.mktemp("instance")),
    })
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        from core.extensions import db

        db.session.remove()
        db.engine.dispose()
    if created:
        engine, name = created
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@pytest.fixture(autouse=True)
def _clean(request, app, fake_wechat):
    """Give every test empty tables, an empty Redis, a real clock and a fresh fake WeChat."""
    yield
    clock.freeze(None)
    fake_wechat.reset()
    with app.app_context():
        from core.cache import get_redis
        from core.extensions import db

        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            else:
                for table in tables:
                    conn.exec_driver_sql(f'DELETE FROM "{table}"')
        get_redis().flushdb()
        from learning import leaderboards

        leaderboards.forget_paths()  # ids start over: the committees' kept paths would name the last test's


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An app context for factories and direct database checks."""
    with app.app_context():
        yield


@pytest.fixture
def org(ctx):
    """Two committees; committee A has branches A1 and A2, committee B has branch B1; one person per role."""
    return factories.standard_org()


@pytest.fixture
def login(client, fake_wechat, ctx):
    """Log a member in through the fake WeChat, as the phone does; returns Authorization headers."""
    tokens = {}

    def _login(member):
        if member.id not in tokens:
            tokens[member.id] = factories.login_headers(client, fake_wechat, member)
        return tokens[member.id]

    return _login


@pytest.fixture
def frozen():
    """Freeze the clock at a moment (aware datetime, or 'YYYY-MM-DD HH:MM' in Asia/Shanghai)."""
    from tests.factories import local_time

    def _freeze(moment):
        if isinstance(moment, str):
            moment = local_time(moment)
        clock.freeze(moment)
        return moment

    return _freeze


@pytest.fixture
def app_on(app, fake_wechat):
    """Build an app on the suite's database with a Redis of the test's choosing; disposed of afterwards."""
    from core.extensions import db, limiter

    built = []
    # The limiter is one object for every app, and init_app points it at the new app's Redis (as it should, for the
    # stall): the suite's app gets its own storage back afterwards, or its rate limits would count in the wrong Redis.
    saved = limiter._storage, limiter._limiter

    def _build(redis_url, **settings):
        from core.app import create_app

        other = create_app({
            "APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "test-secret",
            "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": redis_url,
            "WECHAT_APPID": "wx-test-appid", "WECHAT_SECRET": "test-app-secret",
            "WECHAT_API_BASE": fake_wechat.base_url, "WECOM_API_BASE": fake_wechat.base_url,
            "INSTANCE_DIR": app.config["INSTANCE_DIR"], **settings})
        built.append(other)
        return other

    yield _build
    limiter._storage, limiter._limiter = saved
    for other in built:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def hot_cache(monkeypatch):
    """Switch the hot reads' Redis (core.fresh, quizzes.services.takers, members.authlog) off and on:
    `hot_cache.down()` (every call raises, as a refused connection does), `hot_cache.back()`."""
    from types import SimpleNamespace

    from redis.exceptions import ConnectionError as RedisConnectionError

    from core import fresh
    from members import authlog
    from quizzes.services import takers

    working = fresh.get_redis

    def refused():
        raise RedisConnectionError("Redis is down (test)")

    def switch(to):
        for module in (fresh, takers, authlog):
            monkeypatch.setattr(module, "get_redis", to)

    return SimpleNamespace(down=lambda: switch(refused), back=lambda: switch(working))
