"""Who has started the week's quiz (quizzes.services.takers): a member who has not is answered with no query, and
no start, lost add or deleted attempt ever shows a member who has started as "not started"."""
import pytest
from sqlalchemy import event, select

from core import clock
from core.cache import get_redis, key
from core.extensions import db
from quizzes.models import Attempt
from quizzes.services import takers
from quizzes.services.attempts import start_attempt
from tests.quizzes.test_attempts import quiz  # noqa: F401  (the fixture)
from tests.quizzes.test_current_cache import CURRENT, _start


@pytest.fixture
def attempt_reads(app):
    """The statements that read quiz_attempts, as they are sent."""
    seen = []

    def record(_conn, _cursor, statement, *_):
        if "quiz_attempts" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _state(client, headers):
    response = client.get(CURRENT, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["state"]


def test_a_member_who_has_not_started_is_answered_without_reading_attempts(client, login, org, quiz,  # noqa: F811
                                                                           attempt_reads):
    first, second = login(org.member_a), login(org.member_a2)
    _start(client, first, quiz["id"])
    assert _state(client, first) == "in_progress"  # the set is built here, from the table
    attempt_reads.clear()
    assert _state(client, second) == "not_started"
    assert attempt_reads == []  # a miss of the week's entry, answered from the set
    assert _state(client, first) == "in_progress"  # a taker's week still comes from the table


def test_a_start_racing_the_rebuild_is_not_lost(client, login, org, quiz, monkeypatch):  # noqa: F811
    member, other = login(org.member_a), login(org.member_a2)
    assert _state(client, member) == "not_started"  # the week's branch map is known from here on
    redis = get_redis()  # and the set it built is gone again (its marker expired): the next miss rebuilds it
    redis.delete(*redis.scan_iter(match=key("quiz", "takers-complete", quiz["id"]) + ":*"))
    original, raced = takers._members_with_attempts, []

    def read_then_start(quiz_id):
        found = original(quiz_id)  # the rebuild has the table's takers in hand (nobody) ...
        if not raced:  # ... when a start commits and adds its member (made through the service: a request nested
            # in this one would share its app context, so its member would become this request's)
            raced.append(start_attempt(org.member_a, quiz["id"])[1])
        return found

    monkeypatch.setattr(takers, "_members_with_attempts", read_then_start)
    assert _state(client, other) == "not_started"  # this read built the set, without the racing start
    monkeypatch.setattr(takers, "_members_with_attempts", original)
    assert raced and _state(client, member) == "in_progress"  # the start's add survived the rebuild


def test_an_add_lost_while_redis_was_down_is_made_before_the_next_lookup(client, login, org, quiz,  # noqa: F811
                                                                         hot_cache):
    member, other = login(org.member_a), login(org.member_a2)
    assert _state(client, other) == "not_started"  # the set is complete and marked
    hot_cache.down()
    _start(client, member, quiz["id"])  # its add cannot reach Redis
    assert takers._unadded
    assert _state(client, member) == "in_progress"  # read from the tables meanwhile
    hot_cache.back()
    assert _state(client, member) == "in_progress"
    assert not takers._unadded


def test_a_deleted_attempt_makes_its_member_a_non_taker_again(client, login, org, quiz):  # noqa: F811
    member = login(org.member_a)
    attempt = _start(client, member, quiz["id"])
    assert _state(client, member) == "in_progress"
    db.session.delete(db.session.scalar(select(Attempt).where(Attempt.id == attempt["id"])))
    db.session.commit()
    assert _state(client, member) == "not_started"  # a miss, which rebuilt the quiz's set
    assert takers.lookup(clock.week_key(), org.member_a.branch_id, org.member_a.id) == (quiz["id"], False)


def test_a_start_sends_its_add_with_its_bump_in_one_round_trip(client, login, org, quiz, monkeypatch):  # noqa: F811
    """The member's add to the takers set and the bump of their cached week leave together, once the start has
    answered (core.fresh.call_after), and the next read shows the start."""
    from core import fresh

    member, other = login(org.member_a), login(org.member_a2)
    assert _state(client, other) == "not_started"  # the set is complete and marked
    stored, original = [], fresh._store
    monkeypatch.setattr(fresh, "_store", lambda fills, bumps=(), calls=(): stored.append((set(bumps), len(calls)))
                        or original(fills, bumps, calls))
    _start(client, member, quiz["id"])
    assert stored == [({fresh.gen_key("quiz", "attempts", org.member_a.id)}, 1)]
    assert _state(client, member) == "in_progress" and not takers._unadded
    assert takers.lookup(clock.week_key(), org.member_a.branch_id, org.member_a.id) == (quiz["id"], True)
