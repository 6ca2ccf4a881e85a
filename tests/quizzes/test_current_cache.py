"""The cached week (quizzes.services.current): one member's state never reaches another, and no change or
clock tick leaves a stale answer, even when the change races the read that fills the cache."""
from datetime import timedelta

from core import clock
from quizzes.services import current
from tests.quizzes.helpers import answers_for
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
