"""The cached week (quizzes.services.current): one member's state never reaches another, and no change or
clock tick leaves a stale answer, even when the change races the read that fills the cache."""
from datetime import timedelta

from core import clock
from core.cache import get_redis
from core.extensions import db
from quizzes.models import Quiz
from quizzes.services import current
from tests import factories
from tests.quizzes.helpers import answers_for, make_bank
from tests.quizzes.test_attempts import quiz  # noqa: F401  (the fixture)

CURRENT = "/api/v1/quizzes/current"


def _start(client, headers, quiz_id):
    response = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_each_member_sees_only_their_own_state(client, login, org, quiz):  # noqa: F811
    first, second = login(org.member_a), login(org.member_a2)
    for headers in (first, second, first, second):  # both cached
        assert client.get(CURRENT, headers=headers).get_json()["state"] == "not_started"
    attempt = _start(client, first, quiz["id"])
    mine = client.get(CURRENT, headers=first).get_json()
    theirs = client.get(CURRENT, headers=second).get_json()
    assert mine["state"] == "in_progress" and mine["attempt"]["id"] == attempt["id"]
    assert theirs["state"] == "not_started" and theirs["attempt"] is None and theirs["attempts_used"] == 0


def test_start_and_submit_show_on_the_next_read(client, login, org, quiz):  # noqa: F811
    headers = login(org.member_a)
    assert client.get(CURRENT, headers=headers).get_json()["state"] == "not_started"
    attempt = _start(client, headers, quiz["id"])
    assert client.get(CURRENT, headers=headers).get_json()["state"] == "in_progress"
    done = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers,
                       json={"answers": answers_for(quiz["bank"])})
    assert done.status_code == 200
    body = client.get(CURRENT, headers=headers).get_json()
    assert body["state"] == "submitted" and body["result"]["score"] == 40 and body["attempts_left"] == 0


def test_the_clock_moves_a_cached_state(client, login, org, quiz, frozen):  # noqa: F811
    headers = login(org.member_a)
    _start(client, headers, quiz["id"])
    assert client.get(CURRENT, headers=headers).get_json()["attempt"]["seconds_left"] == 15 * 60
    frozen(clock.now() + timedelta(minutes=1))
    assert client.get(CURRENT, headers=headers).get_json()["attempt"]["seconds_left"] == 14 * 60  # a cached read
    frozen(clock.now() + timedelta(minutes=16))  # past the deadline and its grace: graded on the next read
    body = client.get(CURRENT, headers=headers).get_json()
    assert body["state"] == "submitted" and body["attempt"] is None and body["result"] is not None


def test_an_edit_of_the_quiz_shows_on_the_next_read(client, login, org, quiz):  # noqa: F811
    headers = login(org.member_a)
    assert client.get(CURRENT, headers=headers).get_json()["quiz"]["title"] == "第48周测验"
    response = client.patch(f"/api/v1/quizzes/{quiz['id']}", json={"title": "第48周测验（改）"},
                            headers=login(org.admin_a))
    assert response.status_code == 200, response.get_json()
    assert client.get(CURRENT, headers=headers).get_json()["quiz"]["title"] == "第48周测验（改）"


def test_a_deleted_quiz_leaves_the_week_on_the_next_read(client, login, org, quiz):  # noqa: F811
    headers = login(org.member_a)
    assert client.get(CURRENT, headers=headers).get_json()["state"] == "not_started"
    assert client.delete(f"/api/v1/quizzes/{quiz['id']}", headers=login(org.admin_a)).status_code in (200, 204)
    body = client.get(CURRENT, headers=headers).get_json()
    assert body["state"] == "none" and body["quiz"] is None


def test_a_start_racing_the_read_that_fills_the_cache_is_not_hidden(client, login, org, quiz,  # noqa: F811
                                                                   monkeypatch):
    headers = login(org.member_a)
    original, raced = current.current_state, []

    def read_then_start(member, **asked):
        state = original(member, **asked)  # the read has "not started" in hand ...
        if not raced:
            raced.append(_start(client, headers, quiz["id"]))  # ... when the start commits, before the entry is stored
        return state

    monkeypatch.setattr(current, "current_state", read_then_start)
    assert client.get(CURRENT, headers=headers).get_json()["state"] == "not_started"  # that answer predates it ...
    monkeypatch.setattr(current, "current_state", original)
    body = client.get(CURRENT, headers=headers).get_json()  # ... but the entry it stored is never served
    assert body["state"] == "in_progress" and body["attempt"]["id"] == raced[0]["id"]


def test_with_redis_down_the_week_comes_from_the_tables(client, login, org, quiz, hot_cache):  # noqa: F811
    headers = login(org.member_a)
    assert client.get(CURRENT, headers=headers).get_json()["state"] == "not_started"
    hot_cache.down()
    _start(client, headers, quiz["id"])  # its bump cannot reach Redis
    assert client.get(CURRENT, headers=headers).get_json()["state"] == "in_progress"
    hot_cache.back()  # back, with the old entry still stored
    assert client.get(CURRENT, headers=headers).get_json()["state"] == "in_progress"


def _definition_reads(monkeypatch):
    """Count the reads of a definition from Redis or the tables (not from what the worker keeps)."""
    from quizzes import definitions

    reads, original = [], definitions._definition
    monkeypatch.setattr(definitions, "_definition", lambda quiz_id: reads.append(quiz_id) or original(quiz_id))
    return reads


def test_a_kept_definition_serves_the_next_member_and_an_edit_is_seen_by_every_worker(
        client, login, org, quiz, monkeypatch, app_on, app):  # noqa: F811
    other = app_on(app.config["REDIS_URL"]).test_client()  # a second worker on the same database and Redis
    other.application.extensions["redis"] = app.extensions["redis"]
    first, second, third = login(org.member_a), login(org.member_a2), login(factories.member(org.branch_a))
    reads = _definition_reads(monkeypatch)
    assert client.get(CURRENT, headers=first).get_json()["quiz"]["title"] == "第48周测验"
    assert client.get(CURRENT, headers=second).get_json()["state"] == "not_started"
    assert len(reads) == 1  # the second member's week used the definition the worker kept
    response = client.patch(f"/api/v1/quizzes/{quiz['id']}", json={"title": "第48周测验（改）"},
                            headers=login(org.admin_a))
    assert response.status_code == 200, response.get_json()
    db.session.commit()
    for worker, headers in ((other, third), (client, first)):
        assert worker.get(CURRENT, headers=headers).get_json()["quiz"]["title"] == "第48周测验（改）"


def test_a_kept_definition_is_not_used_once_redis_has_forgotten_its_generation(
        client, login, org, quiz, monkeypatch):  # noqa: F811
    from quizzes import definitions

    first, second = login(org.member_a), login(org.member_a2)
    assert client.get(CURRENT, headers=first).status_code == 200
    assert quiz["id"] in definitions._kept
    title = "第48周测验（改）"  # changed in the tables while Redis is emptied (a restart) and no clear reaches it
    db.session.execute(db.update(Quiz).where(Quiz.id == quiz["id"]).values(title=title))
    db.session.commit()
    get_redis().flushdb()
    assert client.get(CURRENT, headers=second).get_json()["quiz"]["title"] == title


def _branch_quiz(client, login, org, **fields):
    """A quiz for branch A this week, set by its secretary (who manages it, so does not take it)."""
    bank = make_bank(org.committee_a)
    response = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a), json={
        "week_key": "2026-W48", "title": "支部测验", "question_ids": [q.id for q in bank], **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_not_started_week_a_worker_keeps_follows_the_clock(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    branch_quiz = _branch_quiz(client, login, org, opens_at="2026-11-25T01:00:00+00:00")  # Wednesday 09:00
    first, second, third = login(org.member_a), login(org.member_a2), login(factories.member(org.branch_a))
    assert client.get(CURRENT, headers=first).get_json()["state"] == "upcoming"  # the branch's week is known ...
    assert client.get(CURRENT, headers=second).get_json()["state"] == "upcoming"  # ... and the quiz's takers
    assert client.get(CURRENT, headers=third).get_json()["state"] == "upcoming"  # the week this worker keeps
    frozen("2026-11-25 09:01")  # it opened: nothing was written, only the clock moved
    shown = client.get(CURRENT, headers=third).get_json()
    assert shown["quiz"]["id"] == branch_quiz["id"] and shown["state"] == "not_started" and shown["phase"] == "open"


def test_the_not_started_week_is_never_shown_to_a_manager_of_the_quiz(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    _branch_quiz(client, login, org)
    for member in (org.member_a, org.member_a2):  # the second is shown the week this worker keeps
        assert client.get(CURRENT, headers=login(member)).get_json()["state"] == "not_started"
    shown = client.get(CURRENT, headers=login(org.secretary_a)).get_json()  # has no attempt, but sets the quiz
    assert shown["quiz"] is None and shown["state"] == "none", shown
