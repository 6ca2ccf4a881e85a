"""A token trusted from its claims (members.authlog): no SQL while nothing about its member changed; any change —
logout, deactivation, a new role — refused on the next request, also when the mirror write is lost or Redis is
emptied; the tables answer whenever the mirror cannot be vouched for."""
from datetime import timedelta

import pytest
import redis
from itsdangerous import URLSafeSerializer
from sqlalchemy import event

from core import cache, clock, fresh
from core.cache import get_redis
from core.extensions import db
from members import auth, authlog
from members.models import AuthSession, Member
from members.services import ROSTER_HEADERS
from tests import factories
from tests.factories import csv_upload
from tests.quizzes.test_attempts import quiz  # noqa: F401  (the fixture)

CURRENT = "/api/v1/quizzes/current"


@pytest.fixture
def relayed(ctx):
    """The relay has run: the mirror is complete and its marker alive."""
    assert authlog.relay() == 0


class _Statements:
    """The SQL statements run while the block runs."""

    def __enter__(self):
        self.seen = []
        event.listen(db.engine, "before_cursor_execute", self._capture)
        return self.seen

    def _capture(self, conn, cursor, statement, *args):
        self.seen.append(statement)

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._capture)


def _mirrored(member_id):
    return int(get_redis().get(authlog.version_key(member_id)) or 0)


def _version(member_id):
    db.session.commit()
    return db.session.scalar(db.select(Member.auth_version).where(Member.id == member_id))


def test_a_trusted_token_asks_nothing_of_the_database(client, login, org, quiz, relayed):  # noqa: F811
    headers = login(org.member_a)
    for other in (org.member_a2, factories.member(org.branch_a)):  # the branch's week, then the quiz's takers:
        client.get(CURRENT, headers=login(other))  # each built once, by the first to ask
    db.session.commit()
    with _Statements() as seen:
        first = client.get(CURRENT, headers=headers)  # this member's first request
    assert first.status_code == 200 and first.get_json()["state"] == "not_started"
    assert seen == [], seen


@pytest.fixture
def round_trips(ctx, monkeypatch):
    """What is sent to Redis, one entry per round trip: a command alone, or a batch's commands (core.cache.pipelined,
    or a redis-py pipeline)."""
    sent, client = [], get_redis()
    alone, together, batched = client.execute_command, redis.client.Pipeline.execute, cache.pipelined

    def command(*args, **options):
        sent.append(args[0])
        return alone(*args, **options)

    def pipeline(self, *args, **options):
        sent.append([c[0][0] for c in self.command_stack])
        return together(self, *args, **options)

    def batch(commands, *args):
        sent.append([c[0] for c in commands])
        return batched(commands, *args)

    monkeypatch.setattr(client, "execute_command", command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", pipeline)
    monkeypatch.setattr(cache, "pipelined", batch)
    monkeypatch.setattr(fresh, "pipelined", batch)
    return sent


def test_a_member_who_has_not_started_costs_one_redis_round_trip(client, login, org, quiz, relayed,  # noqa: F811
                                                                  round_trips):
    headers = login(org.member_a)
    for other in (org.member_a2, factories.member(org.branch_a)):  # the branch's week, then the quiz's takers:
        client.get(CURRENT, headers=login(other))  # each built once, by the first to ask
    round_trips.clear()
    first = client.get(CURRENT, headers=headers)  # this member's first request
    assert first.status_code == 200 and first.get_json()["state"] == "not_started"
    # The session, the week's entry and the takers lookup in one pipeline; a member who has not started is shown
    # the quiz's not-started week, which this worker keeps: nothing is filled.
    assert round_trips == [["EVALSHA", "EVALSHA"]], round_trips
    round_trips.clear()
    assert client.get(CURRENT, headers=headers).get_json() == first.get_json()
    assert round_trips == [["EVALSHA", "EVALSHA"]], round_trips


def test_scripts_redis_has_forgotten_are_loaded_again_in_the_same_request(client, login, org, quiz,  # noqa: F811
                                                                            relayed, round_trips):
    headers = login(org.member_a)
    assert client.get(CURRENT, headers=login(org.member_a2)).get_json()["state"] == "not_started"
    get_redis().script_flush()  # as after a Redis restart
    round_trips.clear()
    shown = client.get(CURRENT, headers=headers)
    assert shown.status_code == 200 and shown.get_json()["state"] == "not_started"
    # Both scripts answered NOSCRIPT: both are loaded, and the batch runs again as one, so the lookup is still read
    # with the counters.
    batch = ["EVALSHA", "EVALSHA"]
    assert round_trips[:4] == [batch, "SCRIPT LOAD", "SCRIPT LOAD", batch], round_trips


def test_a_prefetched_call_that_fails_costs_the_session_read_nothing(client, login, org, quiz, relayed,  # noqa: F811
                                                                      round_trips, monkeypatch):
    from quizzes.services import takers

    headers = login(org.member_a)
    monkeypatch.setattr(takers, "_LOOKUP", "return redis.error_reply('the lookup fails (test)')")
    first = client.get(CURRENT, headers=headers)
    assert first.status_code == 200 and first.get_json()["state"] == "not_started"  # the tables answered
    round_trips.clear()
    assert client.get(CURRENT, headers=headers).get_json() == first.get_json()
    assert round_trips == [["EVALSHA", "EVALSHA"]], round_trips  # the first request's entry was filled, and serves


def test_a_lookup_read_before_this_process_made_a_lost_add_is_read_again(client, login, org, quiz,  # noqa: F811
                                                                          relayed, round_trips):
    from quizzes.services import takers

    headers = login(org.member_a)
    for other in (org.member_a2, factories.member(org.branch_a)):  # the branch's week and the quiz's takers
        client.get(CURRENT, headers=login(other))
    takers._unadded.add((quiz["id"], org.member_a2.id))  # an add this process could not make
    get_redis().script_load(takers._ADD)  # as any earlier add would have
    round_trips.clear()
    assert client.get(CURRENT, headers=headers).get_json()["state"] == "not_started"
    # The prefetched lookup was read before the add: the add is made, then the lookup runs again.
    assert round_trips == [["EVALSHA", "EVALSHA"], "EVALSHA", "EVALSHA"], round_trips
    assert not takers._unadded


def test_a_lookup_read_for_the_branch_a_token_claims_is_not_used_once_the_member_moved(
        client, login, org, quiz, relayed):  # noqa: F811
    headers = login(org.member_a)  # the token claims branch A, whose committee has this week's quiz
    assert client.get(CURRENT, headers=headers).get_json()["quiz"]["id"] == quiz["id"]
    org.member_a.branch_id = org.branch_b.id  # moved to a branch of another committee: no quiz this week
    db.session.commit()
    shown = client.get(CURRENT, headers=headers).get_json()
    assert shown["quiz"] is None and shown["state"] == "none", shown


def test_without_the_relay_the_same_token_is_read_from_the_tables(client, login, org, quiz):  # noqa: F811
    headers = login(org.member_a)
    db.session.commit()
    with _Statements() as seen:
        assert client.get(CURRENT, headers=headers).status_code == 200
    assert any("auth_sessions" in s for s in seen), seen  # no marker: the mirror cannot vouch for the claims


def test_every_change_of_a_claim_advances_the_version_and_its_mirror(client, login, org, relayed):
    member, admin = login(org.member_a), login(org.admin_a)
    versions = [_version(org.member_a.id)]
    assert client.patch(f"/api/v1/members/{org.member_a.id}", json={"name": "新名字"},
                        headers=admin).status_code == 200
    assert _version(org.member_a.id) == versions[-1]  # a name is not a claim: tokens stay trusted
    assert client.get("/api/v1/me", headers=member).get_json()["name"] == "新名字"
    moved = [["张三", org.member_a.phone, "甲二支部", "", "党员", ""]]  # the roster import moves them to A2
    changes = [lambda: client.post(f"/api/v1/committees/{org.committee_a.id}/roster", headers=admin,
                                   data={"file": csv_upload(moved, ROSTER_HEADERS)}),
               lambda: client.patch(f"/api/v1/members/{org.member_a.id}", json={"role": "secretary"}, headers=admin),
               lambda: client.patch(f"/api/v1/members/{org.member_a.id}", json={"active": False}, headers=admin)]
    for change in changes:
        response = change()
        assert response.status_code == 200, response.get_json()
        versions.append(_version(org.member_a.id))
        assert versions[-1] > versions[-2] and _mirrored(org.member_a.id) == versions[-1]
        if len(versions) == 2:
            shown = client.get("/api/v1/me", headers=member).get_json()  # the tables: the claim is stale
            assert shown["branch"]["id"] == org.branch_a2.id, shown
    response = client.get("/api/v1/me", headers=member)
    assert response.status_code == 401 and response.get_json()["code"] in ("member_inactive", "token_revoked")


def test_logout_refuses_the_token_and_leaves_the_member_other_sessions(client, fake_wechat, org, relayed):
    from tests.factories import login_headers

    phone, desk = login_headers(client, fake_wechat, org.member_a), login_headers(client, fake_wechat, org.member_a)
    assert client.post("/api/v1/auth/logout", headers=phone).status_code == 200
    response = client.get("/api/v1/me", headers=phone)
    assert response.status_code == 401 and response.get_json()["code"] == "token_revoked"
    assert client.get("/api/v1/me", headers=desk).status_code == 200  # from the tables now: still live


def test_a_mirror_write_lost_by_every_process_is_repaired_by_the_relay(client, login, org, relayed, monkeypatch):
    member, secretary = login(org.member_a), login(org.secretary_a)
    assert client.get("/api/v1/me", headers=member).status_code == 200

    def lost(versions):
        raise ConnectionError("Redis hiccup (test)")

    monkeypatch.setattr(authlog, "_raise", lost)
    assert client.patch(f"/api/v1/members/{org.member_a.id}", json={"active": False},
                        headers=secretary).status_code == 200
    monkeypatch.undo()
    authlog._unmirrored.clear()  # the process that lost the write is gone with its retry
    assert _mirrored(org.member_a.id) < _version(org.member_a.id)
    authlog.relay()  # its next pass, within RELAY_SECONDS
    assert _mirrored(org.member_a.id) == _version(org.member_a.id)
    response = client.get("/api/v1/me", headers=member)
    assert response.status_code == 401 and response.get_json()["code"] in ("member_inactive", "token_revoked")


def test_a_mirror_write_lost_is_retried_before_the_process_checks_a_token(client, login, org, relayed, monkeypatch):
    member = login(org.member_a)
    original = authlog._raise
    monkeypatch.setattr(authlog, "_raise", lambda versions: (_ for _ in ()).throw(ConnectionError("hiccup")))
    assert client.post("/api/v1/auth/logout", headers=member).status_code == 200
    monkeypatch.setattr(authlog, "_raise", original)
    assert authlog._unmirrored == {org.member_a.id: _version(org.member_a.id)}
    response = client.get("/api/v1/me", headers=member)
    assert response.status_code == 401 and response.get_json()["code"] == "token_revoked"
    assert not authlog._unmirrored and _mirrored(org.member_a.id) == _version(org.member_a.id)


def test_with_redis_emptied_tokens_are_read_from_the_tables_until_the_relay_rebuilds(client, login, org, relayed):
    secretary, admin = login(org.secretary_a), login(org.admin_a)
    members_page = f"/api/v1/branches/{org.branch_a.id}/members"
    assert client.get(members_page, headers=secretary).status_code == 200
    assert client.patch(f"/api/v1/members/{org.secretary_a.id}", json={"role": "member"},
                        headers=admin).status_code == 200
    get_redis().flushdb()  # a Redis restart: the mirror, its marker and every cached entry are gone
    assert client.get(members_page, headers=secretary).status_code == 403  # no marker: the tables
    assert authlog.relay() == 1  # the relay finds no marker and rebuilds the whole mirror
    assert _mirrored(org.secretary_a.id) == _version(org.secretary_a.id) == 1
    assert client.get(members_page, headers=secretary).status_code == 403  # the old claim is still refused


def test_an_expired_token_is_refused_whatever_the_mirror_says(client, login, org, relayed, frozen):
    headers = login(org.member_a)
    frozen(clock.now() + timedelta(seconds=client.application.config["TOKEN_TTL_SECONDS"] + 1))
    authlog.relay()  # the marker is alive at the frozen moment
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.get_json()["code"] == "token_expired"


def test_a_token_issued_before_claims_is_read_from_the_tables(client, login, org, relayed):
    login(org.member_a)  # a session row to name
    db.session.commit()
    sid = db.session.scalar(db.select(AuthSession.id).where(AuthSession.member_id == org.member_a.id))
    old = URLSafeSerializer(client.application.config["SECRET_KEY"], salt=auth.SALT).dumps(
        {"sid": sid, "mid": org.member_a.id})
    headers = {"Authorization": "Bearer " + old}
    assert client.get("/api/v1/me", headers=headers).get_json()["id"] == org.member_a.id
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_forged_claim_is_refused(client, login, org, relayed):
    headers = login(org.member_a)
    claims = auth.read_token(headers["Authorization"][7:])
    forged = URLSafeSerializer("not-the-secret", salt=auth.SALT).dumps({**claims, "role": "admin"})
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer " + forged})
    assert response.status_code == 401 and response.get_json()["code"] == "token_invalid"


def test_a_trusted_member_reads_the_columns_the_token_does_not_carry(client, login, org, relayed):
    headers = login(org.member_a)
    shown = client.get("/api/v1/me", headers=headers).get_json()
    assert shown["name"] == org.member_a.name and shown["phone"] == org.member_a.phone


def test_a_new_epoch_refuses_every_earlier_claim_whatever_changed_without_versions(client, login, org, relayed):
    """An older release (a rollback) or a restore changes members without advancing versions; it runs without the
    relay, so the marker lapses, and the next pass opens a new epoch: no earlier claim is trusted again."""
    secretary = login(org.secretary_a)
    members_page = f"/api/v1/branches/{org.branch_a.id}/members"
    assert client.get(members_page, headers=secretary).status_code == 200
    db.session.execute(db.text("UPDATE members SET role = 'member' WHERE id = :id"),  # as the older release would
                       {"id": org.secretary_a.id})
    db.session.commit()
    get_redis().delete(authlog.MARKER)  # the marker lapsed while the older release ran
    assert authlog.relay() == 0  # nothing in the versions says anything changed ...
    assert client.get(members_page, headers=secretary).status_code == 403  # ... yet the claim is not trusted


def test_a_token_issued_with_no_mirror_is_always_read_from_the_tables(client, login, org):
    headers = login(org.member_a)  # no marker at login: the token has no epoch
    assert authlog.relay() == 0
    with _Statements() as seen:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert any("auth_sessions" in s for s in seen), seen


def test_a_partial_pass_never_creates_the_marker(client, login, org, relayed, monkeypatch):
    original = authlog._raise

    def restart_then_raise(versions):
        get_redis().flushdb()  # Redis restarts empty while the pass reads the recent changes
        original(versions)

    monkeypatch.setattr(authlog, "_raise", restart_then_raise)
    authlog.relay()
    assert not get_redis().exists(authlog.MARKER)  # only a whole rebuild may set one, with a new epoch
    monkeypatch.undo()
    assert authlog.relay() == 0 and get_redis().exists(authlog.MARKER)
