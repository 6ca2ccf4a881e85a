"""The cached session (members.auth + core.fresh): a revoked session, a deactivated member or a changed role is
refused on the very next request, on every worker, even when the change races the read that fills the cache."""
import pytest
from sqlalchemy import event

from core import fresh
from core.extensions import db
from members import auth, authlog


class _Worker:
    """A test client of another app that first lets go of the suite's session: on SQLite every transaction holds the
    write lock (core.sqlite), and the suite's app context keeps one open between a test's requests."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, verb):
        def call(*args, **kwargs):
            db.session.commit()
            return getattr(self.client, verb)(*args, **kwargs)

        return call


@pytest.fixture
def second_worker(app, app_on):
    """Another app on the same database and the same Redis, as a second gunicorn worker is."""
    other = app_on(app.config["REDIS_URL"])
    other.extensions["redis"] = app.extensions["redis"]  # the embedded fake Redis is per app: share the suite's
    return _Worker(other.test_client())


@pytest.fixture(params=["tables", "claims"])
def auth_path(request, ctx):
    """Each guarantee holds on both paths of a token: read from its cached entry or the tables ("tables": no relay
    has run, as with Redis emptied), and trusted from its claims ("claims": the relay keeps the mirror)."""
    if request.param == "claims":
        assert authlog.relay() == 0
    return request.param


def _warm(*clients, headers):
    for client in clients:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_a_cached_session_asks_nothing_of_the_database(client, login, org, app, auth_path):
    headers = login(org.member_a)
    client.get("/api/v1/me", headers=headers)
    seen = []
    capture = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert client.get("/api/v1/quizzes/current", headers=headers).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert not any("auth_sessions" in s for s in seen), seen


def test_logout_is_refused_on_every_worker(client, second_worker, login, org, auth_path):
    headers = login(org.member_a)
    _warm(client, second_worker, headers=headers)
    assert second_worker.post("/api/v1/auth/logout", headers=headers).status_code == 200
    for worker in (client, second_worker):
        response = worker.get("/api/v1/me", headers=headers)
        assert response.status_code == 401 and response.get_json()["code"] == "token_revoked"


def test_deactivation_is_refused_on_every_worker(client, second_worker, login, org, auth_path):
    member, secretary = login(org.member_a), login(org.secretary_a)
    _warm(client, second_worker, headers=member)
    assert client.patch(f"/api/v1/members/{org.member_a.id}", json={"active": False},
                        headers=secretary).status_code == 200
    for worker in (second_worker, client):
        response = worker.get("/api/v1/quizzes/current", headers=member)
        assert response.status_code == 401 and response.get_json()["code"] in ("member_inactive", "token_revoked")


def test_a_changed_role_holds_on_the_next_request_on_every_worker(client, second_worker, login, org, auth_path):
    secretary, admin = login(org.secretary_a), login(org.admin_a)
    members_page = f"/api/v1/branches/{org.branch_a.id}/members"
    for worker in (client, second_worker):
        assert worker.get(members_page, headers=secretary).status_code == 200
    assert client.patch(f"/api/v1/members/{org.secretary_a.id}", json={"role": "member"},
                        headers=admin).status_code == 200
    for worker in (second_worker, client):
        assert worker.get(members_page, headers=secretary).status_code == 403
        assert worker.get("/api/v1/me", headers=secretary).get_json()["role"] == "member"


def test_a_deactivation_racing_the_read_that_fills_the_cache_is_not_hidden(client, second_worker, login, org,
                                                                           monkeypatch):
    member, secretary = login(org.member_a), login(org.secretary_a)
    original, raced = auth._member_data, []

    def read_then_deactivate(row):
        data = original(row)  # the request has the member, still active, in hand ...
        if not raced:
            raced.append(True)  # ... when the secretary's deactivation commits, before the entry is stored
            response = client.patch(f"/api/v1/members/{org.member_a.id}", json={"active": False}, headers=secretary)
            assert response.status_code == 200
        return data

    monkeypatch.setattr(auth, "_member_data", read_then_deactivate)
    assert client.get("/api/v1/me", headers=member).status_code == 200  # that one answer predates the change ...
    assert raced == [True]
    monkeypatch.setattr(auth, "_member_data", original)
    for worker in (second_worker, client):  # another worker has no copy of the member but the entry
        assert worker.get("/api/v1/me", headers=member).status_code == 401  # ... the entry stored is never served


def test_with_redis_down_sessions_come_from_the_tables(client, login, org, hot_cache, auth_path):
    headers = login(org.member_a)
    _warm(client, headers=headers)
    hot_cache.down()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200  # its bump cannot reach Redis
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401, response.get_json()  # read from the tables meanwhile


def test_a_bump_lost_while_redis_was_down_is_made_before_the_next_cached_read(client, login, org, hot_cache, auth_path):
    headers = login(org.member_a)
    _warm(client, headers=headers)  # an entry is cached while Redis is up
    hot_cache.down()
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200
    hot_cache.back()  # Redis is back, the entry still there
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.get_json()["code"] == "token_revoked"
    assert not fresh._unbumped


def test_a_miss_and_a_change_in_one_request_cost_one_redis_round_trip_and_the_change_is_seen(client, login, org,
                                                                                            monkeypatch):
    headers = login(org.member_a)
    stored = []
    original = fresh._store
    monkeypatch.setattr(fresh, "_store", lambda fills, bumps=(), calls=(): stored.append((fills, set(bumps))) or
                        original(fills, bumps, calls))
    assert not fresh.get_redis().keys("bs:auth:s:*")  # a token fresh from login: its session is not cached yet
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200
    [(fills, bumps)] = stored  # the session's fill and the logout's bump went out together, after the view
    assert [f[0] for f in fills] and bumps == {auth.member_gen(org.member_a.id)}
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_change_committed_by_a_request_that_then_fails_is_still_bumped(client, second_worker, login, org,
                                                                          monkeypatch):
    headers = login(org.member_a)
    _warm(client, second_worker, headers=headers)
    original = auth.revoke_session

    def revoke_then_fail(session_id):
        original(session_id)
        db.session.commit()
        raise RuntimeError("the view failed after its change was committed")

    monkeypatch.setattr(auth, "revoke_session", revoke_then_fail)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 500
    monkeypatch.setattr(auth, "revoke_session", original)
    for worker in (second_worker, client):
        assert worker.get("/api/v1/me", headers=headers).status_code == 401
