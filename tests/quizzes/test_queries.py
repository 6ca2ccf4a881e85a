"""The member flow's statements: a GET never locks, each step asks a small fixed number of queries."""
from core import clock
from core.cache import get_redis
from core.extensions import db
from quizzes import definitions
from tests.quizzes.helpers import answers_for
from tests.quizzes.test_attempts import quiz  # noqa: F401  (the fixture)
from tests.sql import alone_flag, as_a_request_starts, statements


def _quiz_statements(seen):
    # Login and the write rate limit are the members room's; what is left is the quiz's own work.
    return [s for s in seen if "auth_sessions" not in s]


def test_the_current_quiz_never_locks_and_asks_one_query(client, login, org, quiz):  # noqa: F811
    headers = login(org.member_a)
    with statements() as seen:
        client.get("/api/v1/quizzes/current", headers=headers)  # fills the caches: session, which quiz, the week
    assert not any("FOR UPDATE" in s.upper() for s in seen)
    # The quiz's takers set, built from the table once (quizzes.services.takers); the member's attempts with their
    # result.
    assert sum("FROM quiz_attempts" in s for s in seen) == 2 and sum("DISTINCT" in s for s in seen) == 1, seen
    with statements() as seen:
        body = client.get("/api/v1/quizzes/current", headers=headers).get_json()
    assert body["state"] == "not_started"
    assert seen == []  # the session and the member's week both came from the one Redis read (core.fresh)


def test_start_autosave_and_submit_ask_a_bounded_number_of_statements(client, login, org, quiz):  # noqa: F811
    headers = login(org.member_a)
    some, every = answers_for(quiz["bank"], only={"single"}), answers_for(quiz["bank"])
    client.get("/api/v1/quizzes/current", headers=headers)
    # Another member of the committee starts and submits first: the quiz's takers set is built from the table once
    # (quizzes.services.takers), and the committee's path is read once (learning.leaderboards).
    other = login(org.member_a2)
    first = client.post(f"/api/v1/quizzes/{quiz['id']}/attempts", headers=other)
    assert first.status_code == 201
    assert client.post(f"/api/v1/attempts/{first.get_json()['id']}/submit", headers=other, json={}).status_code == 200
    as_a_request_starts()
    autocommitted = []
    with statements(autocommitted) as seen:
        started = client.post(f"/api/v1/quizzes/{quiz['id']}/attempts", headers=headers)
    attempt = started.get_json()
    # Redis's takers set (read with the session) says the member has not started: the insert, with no read first,
    # alone (on PostgreSQL in autocommit).
    work = [s for s in _quiz_statements(seen) if not s.startswith("BEGIN")]  # SQLite's BEGIN IMMEDIATE
    assert started.status_code == 201 and len(work) == 1 and work[0].startswith("INSERT INTO quiz_attempts"), seen
    assert autocommitted[seen.index(work[0])] is alone_flag()
    with statements() as seen:
        resumed = client.post(f"/api/v1/quizzes/{quiz['id']}/attempts", headers=headers)
    assert resumed.status_code == 200 and resumed.get_json()["id"] == attempt["id"]
    work = [s for s in _quiz_statements(seen) if not s.startswith("BEGIN")]
    assert len(work) == 1 and "FROM quiz_attempts" in work[0], seen  # the member's attempts
    as_a_request_starts()
    autocommitted = []
    with statements(autocommitted) as seen:
        saved = client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers, json={"answers": some})
    assert saved.status_code == 200 and saved.get_json()["answered"] == 1
    # One conditional UPDATE that merges the answers in the row, nothing read first; on PostgreSQL in autocommit
    # (core.db.alone: no BEGIN and COMMIT round trips). SQLite's BEGIN IMMEDIATE is its own.
    work = [s for s in _quiz_statements(seen) if not s.startswith("BEGIN")]
    assert len(work) == 1 and work[0].startswith("UPDATE quiz_attempts"), seen
    assert autocommitted[seen.index(work[0])] is alone_flag()
    as_a_request_starts()
    rows, autocommitted = [], []
    with statements(autocommitted, rows=rows) as seen:
        done = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers, json={"answers": every})
    assert done.status_code == 200 and done.get_json()["result"]["score"] == 40
    assert not any("quiz_questions" in s or "quiz_items" in s for s in seen)  # grading read the cached quiz
    # The points' boards: the member's branch and committee path from the session, not from their rows.
    assert not any("FROM members" in s or "FROM committees" in s for s in seen), seen
    work = [s for s in _quiz_statements(seen) if not s.startswith("BEGIN")]
    if db.engine.dialect.name == "postgresql":
        # A first attempt, every answer sent: graded first, then all of it in one statement, alone
        # (quizzes.services.first_submit).
        assert len(work) == 1 and work[0].lstrip().startswith("WITH submitted AS"), seen
        assert autocommitted[seen.index(work[0])] is alone_flag()
        return
    # Every answer sent: graded first, then one conditional UPDATE of the attempt; nothing read or locked before it.
    assert work[0].startswith("UPDATE quiz_attempts") and not any("FOR UPDATE" in s for s in work), seen
    assert len(_quiz_statements(seen)) <= 10, seen
    graded = [i for i, s in enumerate(seen) if s.startswith("INSERT INTO quiz_attempt_answers")]
    # The graded answers go in as one statement sent with every row (psycopg: one round trip, one prepared INSERT),
    # not a statement a row, nor a multi-row INSERT too long for psycopg's and PostgreSQL's caches.
    assert len(graded) == 1 and rows[graded[0]] == len(attempt["questions"]) > 1, (seen, rows)
    assert seen[graded[0]].count("VALUES (") == 1, seen[graded[0]]


def test_the_definition_cache_is_dropped_with_a_deleted_quiz(client, login, org, quiz, ctx):  # noqa: F811
    assert definitions.get_definition(quiz["id"]).total_score == 40
    response = client.delete(f"/api/v1/quizzes/{quiz['id']}", headers=login(org.admin_a))
    assert response.status_code == 204
    assert definitions.get_definition(quiz["id"]) is None


def test_a_branch_quiz_created_later_replaces_the_cached_committee_quiz(client, login, org, quiz):  # noqa: F811
    headers = login(org.member_a)
    assert client.get("/api/v1/quizzes/current", headers=headers).get_json()["quiz"]["id"] == quiz["id"]
    own = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a), json={
        "week_key": "2026-W48", "question_ids": [quiz["bank"][0].id]})
    assert own.status_code == 201
    assert client.get("/api/v1/quizzes/current", headers=headers).get_json()["quiz"]["id"] == own.get_json()["id"]
    assert client.delete(f"/api/v1/quizzes/{own.get_json()['id']}", headers=login(org.secretary_a)).status_code == 204
    assert client.get("/api/v1/quizzes/current", headers=headers).get_json()["quiz"]["id"] == quiz["id"]


def test_the_writes_keep_their_short_way_once_the_branch_map_has_expired(client, login, org, quiz):  # noqa: F811
    """Which quiz each branch takes this week lives in Redis for a minute (quizzes.definitions); once it has
    expired, the next write fills it again and still goes its short way — no read of the member's attempts before a
    start, no locked read before an autosave or a submit — and the writes after it find it."""
    headers = login(org.member_a)
    some, every = answers_for(quiz["bank"], only={"single"}), answers_for(quiz["bank"])
    other = login(org.member_a2)  # the takers set is built, the committee's path read (as above)
    first = client.post(f"/api/v1/quizzes/{quiz['id']}/attempts", headers=other).get_json()
    assert client.post(f"/api/v1/attempts/{first['id']}/submit", headers=other, json={}).status_code == 200
    week_map = definitions.branch_map_key(clock.week_key())

    def sent(method, url, **body):
        get_redis().delete(week_map)  # its minute is over
        as_a_request_starts()
        with statements() as seen:
            response = getattr(client, method)(url, headers=headers, **body)
        assert response.status_code in (200, 201), response.get_json()
        assert get_redis().exists(week_map), "the write filled the map again"
        return response.get_json(), [s for s in _quiz_statements(seen) if not s.startswith(("BEGIN", "COMMIT"))]

    attempt, work = sent("post", f"/api/v1/quizzes/{quiz['id']}/attempts")
    assert not any("FROM quiz_attempts" in s for s in work), work
    assert [s for s in work if "quiz_attempts" in s][0].startswith("INSERT INTO quiz_attempts"), work
    saved, work = sent("put", f"/api/v1/attempts/{attempt['id']}/answers", json={"answers": some})
    assert saved["answered"] == 1 and not any("FOR UPDATE" in s for s in work), work
    assert [s for s in work if "quiz_attempts" in s][0].startswith("UPDATE quiz_attempts"), work
    as_a_request_starts()
    with statements() as seen:  # the map is there again: the autosave is its one UPDATE
        assert client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers,
                          json={"answers": some}).status_code == 200
    assert [s.split()[0] for s in _quiz_statements(seen) if not s.startswith("BEGIN")] == ["UPDATE"], seen
    done, work = sent("post", f"/api/v1/attempts/{attempt['id']}/submit", json={"answers": every})
    assert done["result"]["score"] == 40 and not any("FOR UPDATE" in s for s in work), work
