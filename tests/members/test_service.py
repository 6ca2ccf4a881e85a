"""The service's own surface: health, readiness, the OpenAPI document, errors, production guards."""
import pytest

import config


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_openapi_document_lists_the_api(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/auth/wechat" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert b"/api/v1/docs-assets/swagger-ui-bundle.js" in page.data
    assert client.get("/api/v1/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_unknown_routes_and_methods_use_the_error_shape(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert set(missing.get_json()) == {"code", "message", "details"}
    wrong = client.delete("/api/v1/auth/wechat")
    assert wrong.status_code == 405
    assert wrong.get_json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("env, problem", [
    ({"SECRET_KEY": config.DEFAULT_SECRET_KEY}, "SECRET_KEY"),
    ({"WECHAT_SECRET": ""}, "WECHAT"),
    ({"DATABASE_URL": ""}, "DATABASE_URL"),
    ({"REDIS_URL": ""}, "REDIS_URL"),
])
def test_production_refuses_defaults(monkeypatch, tmp_path, env, problem):
    good = {"APP_ENV": "production", "SECRET_KEY": "x" * 40, "WECHAT_APPID": "wx1", "WECHAT_SECRET": "s",
            "DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r/0", "INSTANCE_DIR": str(tmp_path)}
    good.update(env)
    for name, value in good.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match=problem):
        config.load()


def test_production_settings_load_when_complete(monkeypatch, tmp_path):
    for name, value in {"APP_ENV": "production", "SECRET_KEY": "x" * 40, "WECHAT_APPID": "wx1",
                        "WECHAT_SECRET": "s", "DATABASE_URL": "postgres://db/x", "REDIS_URL": "redis://r/0"}.items():
        monkeypatch.setenv(name, value)
    settings = config.load()
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db/x"


def test_no_read_is_rate_limited_even_where_a_route_asks(app_on):
    from core.extensions import limiter

    other = app_on(None)

    @other.route("/test-limited", methods=["GET", "POST"])
    @limiter.limit("1 per minute")
    def limited():
        return {"ok": True}

    client = other.test_client()
    assert [client.get("/test-limited").status_code for _ in range(3)] == [200, 200, 200]
    assert [client.post("/test-limited").status_code for _ in range(2)] == [200, 429]  # the same route's writes


def test_a_signed_in_write_on_a_route_with_its_own_limit_keeps_it(app_on, login, org):
    """Flask-Limiter leaves a member's writes to members.ratelimit, except on a route with a limit of its own."""
    from core.extensions import db, limiter
    from members.auth import current_member, login_required

    headers = login(org.member_a)
    db.session.rollback()  # the test's own session must not hold SQLite's write lock while the other app writes
    other = app_on(None)

    @other.route("/test-own-limit", methods=["POST"])
    @limiter.limit("1 per minute")
    @login_required()
    def own_limit():
        return {"id": current_member().id}

    @other.route("/test-default-limit", methods=["POST"])
    @login_required()
    def default_limit():
        return {"id": current_member().id}

    client = other.test_client()
    assert [client.post("/test-own-limit", headers=headers).status_code for _ in range(2)] == [200, 429]
    assert [client.post("/test-default-limit", headers=headers).status_code for _ in range(3)] == [200] * 3


def test_a_members_write_is_counted_in_the_sessions_round_trip_and_nowhere_else(app, client, login, org, hot_cache):
    """members.ratelimit: a write with a signed token is counted with the session's read (one key per member), and
    Flask-Limiter's default limit leaves it alone (no key of its own, no round trip of its own). Redis down: the
    write goes through."""
    from core.cache import get_redis, key

    headers = login(org.secretary_a)
    redis = get_redis()

    def patch():
        return client.patch(f"/api/v1/members/{org.member_a.id}", json={"active": True}, headers=headers)

    assert patch().status_code == 200 and patch().status_code == 200
    assert redis.get(key("rl", "writes", org.secretary_a.id)) == "2"

    def flask_limiter_writes():
        return [k for k in redis.keys("LIMITS:LIMITER/bs-rl/*") if "/login-" not in k]

    assert flask_limiter_writes() == []  # Flask-Limiter counted neither
    unsigned = client.post("/api/v1/auth/logout", headers={"Authorization": "Bearer forged"})
    assert unsigned.status_code == 401 and len(flask_limiter_writes()) == 1  # a forged token is still Flask-Limiter's
    app.config["RATELIMIT_WRITES"] = "2 per minute"
    try:
        assert patch().status_code == 429
        hot_cache.down()
        assert patch().status_code == 200  # nothing can count it: it goes through, as Flask-Limiter lets it
    finally:
        hot_cache.back()
        app.config["RATELIMIT_WRITES"] = "120 per minute"


def test_writes_are_rate_limited_per_member(app, client, login, org):
    headers = login(org.secretary_a)
    other = login(org.secretary_b)
    app.config["RATELIMIT_WRITES"] = "3 per minute"
    try:
        answers = [client.patch(f"/api/v1/members/{org.member_a.id}", json={"active": True}, headers=headers)
                   for _ in range(4)]
        codes = [a.status_code for a in answers]
        unaffected = client.patch(f"/api/v1/members/{org.member_b.id}", json={"active": True}, headers=other)
        reads = [client.get("/api/v1/me", headers=headers) for _ in range(5)]  # over the limit, and unlimited
    finally:
        app.config["RATELIMIT_WRITES"] = "120 per minute"
    assert codes == [200, 200, 200, 429]
    assert answers[-1].get_json()["code"] == "rate_limited"
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60  # when this minute's window resets
    assert not any(name.startswith("X-RateLimit") for a in answers for name, _ in a.headers)  # not kept
    assert unaffected.status_code == 200
    assert [r.status_code for r in reads] == [200] * 5
    assert not any(name.startswith("X-RateLimit") for r in reads for name, _ in r.headers)  # reads skip the limiter
