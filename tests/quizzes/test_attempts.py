"""The member's week through the API: current quiz, start, resume, autosave, submit, results; never answers early."""
import threading

import pytest

from core import clock
from core.extensions import db
from quizzes.models import Attempt, AttemptAnswer, QuizResult
from quizzes.services import close_due_quizzes
from tests.factories import login_headers
from tests.quizzes.helpers import answers_for, assert_no_answers, make_bank

WEEK = "2026-W48"


@pytest.fixture
def quiz(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    bank = make_bank(org.committee_a)
    response = client.post(f"/api/v1/committees/{org.committee_a.id}/quizzes", headers=login(org.admin_a), json={
        "week_key": WEEK, "title": "第48周测验", "question_ids": [q.id for q in bank], "pass_percent": 60})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["opens_at"].startswith("2026-11-22T16:00") and body["closes_at"].startswith("2026-11-29T16:00")
    assert body["total_score"] == 40 and body["pass_score"] == 24 and body["time_limit_minutes"] == 15
    return {"id": body["id"], "bank": bank}


def _start(client, headers, quiz_id):
    return client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)


def test_a_member_sees_this_weeks_quiz_and_their_state(client, login, org, quiz):
    headers = login(org.member_a)
    body = client.get("/api/v1/quizzes/current", headers=headers).get_json()
    assert body["week_key"] == WEEK and body["quiz"]["id"] == quiz["id"]
    assert body["state"] == "not_started" and body["attempts_left"] == 1 and body["phase"] == "open"
    assert_no_answers(body, quiz["bank"])
    attempt = _start(client, headers, quiz["id"]).get_json()
    body = client.get("/api/v1/quizzes/current", headers=headers).get_json()
    assert body["state"] == "in_progress" and body["attempt"]["id"] == attempt["id"]
    assert body["attempt"]["seconds_left"] == 15 * 60


def test_starting_shows_shuffled_questions_without_answers_and_a_resume_returns_the_same(client, login, org, quiz):
    headers = login(org.member_a)
    first = _start(client, headers, quiz["id"])
    assert first.status_code == 201
    body = first.get_json()
    assert_no_answers(body, quiz["bank"])
    assert {q["id"] for q in body["questions"]} == {q.id for q in quiz["bank"]}
    assert body["seconds_left"] == 900 and body["answers"] == {} and body["result"] is None
    multiple = next(q for q in body["questions"] if q["kind"] == "multiple")
    assert sorted(o["key"] for o in multiple["options"]) == list("ABCDE")
    blank = next(q for q in body["questions"] if q["kind"] == "blank")
    assert blank["blanks"] == 2 and blank["options"] == []
    # The phone lost signal; five minutes later it asks again and gets the same attempt, order and answers.
    saved = client.put(f"/api/v1/attempts/{body['id']}/answers", headers=headers,
                       json={"answers": answers_for(quiz["bank"], only={"single", "blank"})})
    assert saved.status_code == 200 and saved.get_json()["answered"] == 2
    clock.freeze(clock.now() + __import__("datetime").timedelta(minutes=5))
    again = _start(client, headers, quiz["id"]).get_json()
    assert again["id"] == body["id"] and again["questions"] == body["questions"]
    assert again["answers"] == answers_for(quiz["bank"], only={"single", "blank"})
    assert again["seconds_left"] == 600
    assert_no_answers(again, quiz["bank"])
    shown = client.get(f"/api/v1/attempts/{body['id']}", headers=headers).get_json()
    assert shown["answers"] == again["answers"]
    assert_no_answers(shown, quiz["bank"])


def test_each_member_gets_their_own_order(client, login, org, quiz):
    orders = set()
    for member in (org.member_a, org.member_a2, org.secretary_a, org.member_a2_branch, org.secretary_a2):
        body = _start(client, login(member), quiz["id"]).get_json()
        orders.add(tuple(q["id"] for q in body["questions"]) + tuple(
            o["key"] for q in body["questions"] for o in q["options"]))
    assert len(orders) > 1


def test_submit_grades_on_the_server_and_a_second_submit_returns_the_same_result(client, login, org, quiz):
    headers = login(org.member_a)
    attempt = _start(client, headers, quiz["id"]).get_json()
    answers = answers_for(quiz["bank"])
    answers.update(answers_for([q for q in quiz["bank"] if q.kind == "judge"], right=False))
    client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers, json={"answers": answers})
    first = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers, json={})
    assert first.status_code == 200
    body = first.get_json()
    assert body["result"]["score"] == 30 and body["result"]["passed"] is True
    assert body["result"]["correct_count"] == 3 and body["status"] == "submitted"
    assert_no_answers(body, quiz["bank"])
    second = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers, json={})
    assert second.status_code == 200 and second.get_json()["result"] == body["result"]
    assert db.session.scalar(db.select(db.func.count()).select_from(AttemptAnswer)) == 4
    assert db.session.scalar(db.select(db.func.count()).select_from(QuizResult)) == 1
    # Once per member per quiz, by score: passed is 6 points.
    from learning.points import member_points
    assert member_points(org.member_a.id)["total"] == 6
    again = _start(client, headers, quiz["id"])
    assert again.status_code == 409 and again.get_json()["code"] == "no_attempts_left"
    saving = client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers, json={"answers": {}})
    assert saving.status_code == 409 and saving.get_json()["code"] == "attempt_submitted"


@pytest.mark.parametrize("every_answer", [False, True], ids=["saved-answers", "every-answer-sent"])
def test_two_submits_at_once_grade_once(app, client, login, org, quiz, every_answer):
    """A phone retrying its submit: graded once, the same result for each. Sent bare (graded from the locked row)
    or with every answer (graded first, written with one conditional UPDATE)."""
    headers = login(org.member_a)
    attempt = _start(client, headers, quiz["id"]).get_json()
    every = answers_for(quiz["bank"])
    client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers,
               json={"answers": answers_for(quiz["bank"], right=not every_answer)})
    body = {"answers": every} if every_answer else {}
    frozen_at = clock.now()
    db.session.rollback()  # this test's own session must not hold SQLite's write lock while the phones race
    results, barrier = [], threading.Barrier(4)

    def submit():
        barrier.wait()
        with app.test_client() as c:
            r = c.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers, json=body)
            results.append((r.status_code, r.get_json().get("result", r.get_json())))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    assert clock.now() == frozen_at
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [200] * 4
    assert len({r["score"] for _, r in results}) == 1 and results[0][1]["score"] == 40
    assert db.session.scalar(db.select(db.func.count()).select_from(AttemptAnswer)) == 4
    assert db.session.scalar(db.select(QuizResult.attempts)) == 1
    from learning.points import member_points
    assert member_points(org.member_a.id)["total"] == 8


def test_four_first_starts_at_once_make_one_attempt(app, client, login, org, quiz):
    """A phone retrying its first start while the first is still running: one attempt, started once (201), the
    others handed the same attempt (200)."""
    headers = login(org.member_a)
    db.session.rollback()  # this test's own session must not hold SQLite's write lock while the phones race
    results, barrier = [], threading.Barrier(4)

    def start():
        barrier.wait()
        with app.test_client() as c:
            r = c.post(f"/api/v1/quizzes/{quiz['id']}/attempts", headers=headers)
            results.append((r.status_code, r.get_json().get("id"), r.get_json().get("number")))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _, _ in results) == [200, 200, 200, 201], results
    assert len({a for _, a, _ in results}) == 1 and {n for _, _, n in results} == {1}
    assert db.session.scalar(db.select(db.func.count()).select_from(Attempt)) == 1


def test_autosaves_merge_and_a_null_clears_an_answer(client, login, org, quiz):
    headers = login(org.member_a)
    attempt = _start(client, headers, quiz["id"]).get_json()
    by_kind = {q.kind: str(q.id) for q in quiz["bank"]}
    url = f"/api/v1/attempts/{attempt['id']}/answers"
    first = client.put(url, headers=headers, json={"answers": {by_kind["single"]: "B", by_kind["judge"]: "T"}})
    assert first.status_code == 200 and first.get_json()["answered"] == 2
    second = client.put(url, headers=headers, json={"answers": {by_kind["single"]: "A", by_kind["judge"]: None,
                                                                by_kind["multiple"]: ["A", "C"]}})
    assert second.status_code == 200 and second.get_json()["answered"] == 2
    shown = client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).get_json()
    assert shown["answers"] == {by_kind["single"]: "A", by_kind["multiple"]: ["A", "C"]}
    # The submit's own answers merge the same way: null clears what was saved.
    done = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers,
                       json={"answers": {by_kind["multiple"]: None, by_kind["judge"]: "T"}}).get_json()
    assert done["answers"] == {by_kind["single"]: "A", by_kind["judge"]: "T"} and done["result"]["score"] == 20


def test_an_autosave_racing_the_submit_is_saved_before_it_or_refused(app, client, login, org, quiz):
    """The phone's last autosave and its submit arrive together: the autosave is either in what was graded or
    answered 409, never written after the grade."""
    headers = login(org.member_a)
    by_kind = {q.kind: q for q in quiz["bank"]}
    judge_id, save, submit = (by_kind["judge"].id, answers_for([by_kind["judge"]]),
                              answers_for([by_kind["single"]]))
    for _ in range(5):
        db.session.query(QuizResult).delete()
        db.session.query(AttemptAnswer).delete()
        db.session.query(Attempt).delete()
        db.session.commit()
        attempt = _start(client, headers, quiz["id"]).get_json()
        db.session.rollback()  # this test's own session must not hold SQLite's write lock while the phones race
        results, barrier = {}, threading.Barrier(2)

        def send(name, method, url, body):
            barrier.wait()
            with app.test_client() as c:
                results[name] = getattr(c, method)(url, headers=headers, json=body)

        threads = [threading.Thread(target=send, args=("save", "put", f"/api/v1/attempts/{attempt['id']}/answers",
                                                       {"answers": save})),
                   threading.Thread(target=send, args=("submit", "post", f"/api/v1/attempts/{attempt['id']}/submit",
                                                       {"answers": submit}))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results["submit"].status_code == 200
        saved = results["save"]
        assert saved.status_code == 200 or (saved.status_code == 409
                                            and saved.get_json()["code"] == "attempt_submitted"), saved.get_json()
        db.session.rollback()
        row = db.session.get(Attempt, attempt["id"])
        graded = {a.question_id: a.correct for a in db.session.scalars(
            db.select(AttemptAnswer).where(AttemptAnswer.attempt_id == row.id))}
        # What is stored is what was graded: the judge answer is in both or in neither.
        assert (str(judge_id) in row.answers) == graded[judge_id] == (saved.status_code == 200)
        assert row.score == (20 if saved.status_code == 200 else 10)


def test_a_submit_after_the_time_limit_grades_what_was_saved(client, login, org, quiz, frozen):
    headers = login(org.member_a)
    attempt = _start(client, headers, quiz["id"]).get_json()
    client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers,
               json={"answers": answers_for(quiz["bank"], only={"single"})})
    frozen("2026-11-23 08:30")  # 15 minutes plus a minute's grace are long gone
    late = client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers,
                      json={"answers": answers_for(quiz["bank"])})
    assert late.status_code == 409 and late.get_json()["code"] == "attempt_expired"
    body = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers,
                       json={"answers": answers_for(quiz["bank"])}).get_json()
    assert body["result"]["score"] == 10 and body["result"]["late"] is True


def test_a_submit_with_every_answer_is_what_counts_and_a_retry_returns_it(client, login, org, quiz):
    headers = login(org.member_a)
    attempt = _start(client, headers, quiz["id"]).get_json()
    url = f"/api/v1/attempts/{attempt['id']}"
    client.put(f"{url}/answers", headers=headers, json={"answers": answers_for(quiz["bank"], right=False)})
    final = answers_for(quiz["bank"])
    blank = str(next(q.id for q in quiz["bank"] if q.kind == "blank"))
    final[blank] = None  # cleared on the phone before sending
    first = client.post(f"{url}/submit", headers=headers, json={"answers": final})
    assert first.status_code == 200
    body = first.get_json()
    assert body["status"] == "submitted" and body["result"]["score"] == 30 and body["result"]["correct_count"] == 3
    assert body["result"]["late"] is False and body["seconds_left"] == 0
    assert body["answers"] == {k: v for k, v in final.items() if v is not None}
    assert [q["id"] for q in body["questions"]] == [q["id"] for q in attempt["questions"]]  # the member's order
    assert_no_answers(body, quiz["bank"])
    retry = client.post(f"{url}/submit", headers=headers, json={"answers": answers_for(quiz["bank"], right=False)})
    assert retry.status_code == 200 and retry.get_json()["result"] == body["result"]
    assert client.get(url, headers=headers).get_json()["answers"] == body["answers"]
    graded = dict(db.session.execute(db.select(AttemptAnswer.question_id, AttemptAnswer.correct)).all())
    assert graded == {q.id: q.kind != "blank" for q in quiz["bank"]}
    result = db.session.scalar(db.select(QuizResult))
    assert (result.score, result.attempts, result.attempt_id) == (30, 1, attempt["id"])
    from learning.points import member_points
    assert member_points(org.member_a.id)["total"] == 6
    current = client.get("/api/v1/quizzes/current", headers=headers).get_json()
    assert current["state"] == "submitted" and current["result"]["score"] == 30


def test_every_answer_sent_after_the_time_is_up_grades_what_was_saved(client, login, org, quiz, frozen):
    headers = login(org.member_a)
    attempt = _start(client, headers, quiz["id"]).get_json()
    client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers,
               json={"answers": answers_for(quiz["bank"], only={"single"})})
    frozen("2026-11-23 08:30")  # 15 minutes plus a minute's grace are long gone; nothing graded it yet
    body = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers,
                       json={"answers": answers_for(quiz["bank"])}).get_json()
    assert body["result"]["score"] == 10 and body["result"]["late"] is True
    assert body["answers"] == answers_for(quiz["bank"], only={"single"})


def test_a_submit_within_the_grace_still_counts_its_last_answers(client, login, org, quiz, frozen):
    headers = login(org.member_a)
    attempt = _start(client, headers, quiz["id"]).get_json()
    frozen("2026-11-23 08:15")
    clock.freeze(clock.now() + __import__("datetime").timedelta(seconds=30))
    body = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers,
                       json={"answers": answers_for(quiz["bank"])}).get_json()
    assert body["result"]["score"] == 40 and body["result"]["late"] is False


def test_an_abandoned_attempt_is_graded_when_the_member_comes_back(client, login, org, quiz, frozen):
    headers = login(org.member_a)
    attempt = _start(client, headers, quiz["id"]).get_json()
    client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers,
               json={"answers": answers_for(quiz["bank"], only={"judge", "multiple"})})
    frozen("2026-11-24 09:00")
    body = client.get("/api/v1/quizzes/current", headers=headers).get_json()
    assert body["state"] == "submitted" and body["result"]["score"] == 20


def test_before_and_after_the_window_and_outside_the_audience_are_clear_errors(client, login, org, frozen,
                                                                             fake_wechat):
    frozen("2026-11-23 08:00")
    bank = make_bank(org.committee_a)
    created = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a), json={
        "week_key": "2026-W49", "question_ids": [q.id for q in bank]})
    assert created.status_code == 201, created.get_json()
    quiz_id = created.get_json()["id"]
    early = _start(client, login(org.member_a), quiz_id)
    assert early.status_code == 409 and early.get_json()["code"] == "quiz_not_open"
    assert "2026年11月30日 00:00" in early.get_json()["message"]
    # Another committee's member cannot even see it; a member of a sibling branch is not in its audience.
    assert _start(client, login(org.member_b), quiz_id).status_code == 404
    assert _start(client, login(org.member_a2_branch), quiz_id).status_code == 404
    frozen("2026-12-07 08:00")
    fresh = login_headers(client, fake_wechat, org.member_a)  # last week's token has expired by now
    late = _start(client, fresh, quiz_id)
    assert late.status_code == 409 and late.get_json()["code"] == "quiz_closed"
    assert _start(client, fresh, 999999).status_code == 404


def test_a_branch_quiz_takes_precedence_and_the_committee_quiz_refuses_its_members(client, login, org, quiz):
    bank = make_bank(org.committee_a, branch=org.branch_a2)
    own = client.post(f"/api/v1/branches/{org.branch_a2.id}/quizzes", headers=login(org.secretary_a2),
                      json={"week_key": WEEK, "question_ids": [q.id for q in bank]})
    assert own.status_code == 201, own.get_json()
    headers = login(org.member_a2_branch)
    assert client.get("/api/v1/quizzes/current", headers=headers).get_json()["quiz"]["id"] == own.get_json()["id"]
    refused = _start(client, headers, quiz["id"])
    assert refused.status_code == 403 and refused.get_json()["code"] == "not_in_audience"
    assert client.get("/api/v1/quizzes/current", headers=login(org.member_a)).get_json()["quiz"]["id"] == quiz["id"]


def test_someone_elses_attempt_is_not_found(client, login, org, quiz):
    attempt = _start(client, login(org.member_a), quiz["id"]).get_json()
    other = login(org.member_a2)
    assert client.get(f"/api/v1/attempts/{attempt['id']}", headers=other).status_code == 404
    assert client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=other,
                      json={"answers": {}}).status_code == 404
    assert client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=other, json={}).status_code == 404


@pytest.mark.parametrize("answers, field", [
    ({"999": "A"}, "999"),
    (None, None),
])
def test_malformed_answers_are_rejected_and_nothing_is_saved(client, login, org, quiz, answers, field):
    headers = login(org.member_a)
    attempt = _start(client, headers, quiz["id"]).get_json()
    by_kind = {q.kind: q for q in quiz["bank"]}
    bad = answers or {str(by_kind["single"].id): "A", str(by_kind["multiple"].id): "AB",
                      str(by_kind["blank"].id): ["only one"]}
    response = client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers, json={"answers": bad})
    assert response.status_code == 422
    problems = response.get_json()["details"]["fields"]
    if field:
        assert field in problems
    else:
        assert set(problems) == {str(by_kind["multiple"].id), str(by_kind["blank"].id)}
    assert db.session.get(Attempt, attempt["id"]).answers == {}
    unknown = client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers, json={"answer": {}})
    assert unknown.status_code == 422


def test_answers_and_explanations_appear_only_after_close(client, login, org, quiz, frozen):
    headers = login(org.member_a)
    attempt = _start(client, headers, quiz["id"]).get_json()
    body = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers,
                       json={"answers": answers_for(quiz["bank"], only={"single"})}).get_json()
    assert_no_answers(body, quiz["bank"])
    mine = client.get("/api/v1/me/quizzes", headers=headers).get_json()
    assert mine["total"] == 1 and mine["items"][0]["result"]["score"] == 10
    assert mine["items"][0]["answers_revealed"] is False
    assert_no_answers(mine, quiz["bank"])
    assert_no_answers(client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).get_json(), quiz["bank"])
    frozen("2026-11-30 00:05")
    after = client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).get_json()
    assert after["answers_revealed"] is True
    by_id = {q["id"]: q for q in after["questions"]}
    for question in quiz["bank"]:
        shown = by_id[question.id]
        assert shown["explanation"] == question.explanation and shown["answer"] == question.answer
        assert shown["correct"] is (question.kind == "single")
    assert client.get("/api/v1/me/quizzes", headers=headers).get_json()["items"][0]["answers_revealed"] is True


def test_a_quiz_that_keeps_its_answers_never_reveals_them(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    bank = make_bank(org.committee_a)
    created = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a), json={
        "question_ids": [q.id for q in bank], "reveal_answers": False}).get_json()
    headers = login(org.member_a)
    attempt = _start(client, headers, created["id"]).get_json()
    client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers, json={})
    frozen("2026-12-01 08:00")
    assert_no_answers(client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).get_json(), bank)


def test_with_more_attempts_the_best_counts_and_points_follow_the_best(client, login, org, frozen):
    from learning.points import member_points

    frozen("2026-11-23 08:00")
    bank = make_bank(org.committee_a)
    created = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a), json={
        "question_ids": [q.id for q in bank], "max_attempts": 3}).get_json()
    headers = login(org.member_a)
    scores = []
    for answers in (answers_for(bank, only={"single"}), answers_for(bank), answers_for(bank, right=False)):
        attempt = _start(client, headers, created["id"]).get_json()
        scores.append(client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers,
                                  json={"answers": answers}).get_json()["result"]["score"])
    assert scores == [10, 40, 0]
    result = db.session.scalar(db.select(QuizResult))
    assert result.score == 40 and result.attempts == 3 and result.points_rule == "quiz_full_marks"
    assert member_points(org.member_a.id)["total"] == 8  # taken (2) was swapped for full marks (8)
    assert _start(client, headers, created["id"]).get_json()["code"] == "no_attempts_left"


def test_a_start_the_takers_set_has_not_heard_of_is_decided_by_the_table(client, login, org, frozen):
    """Redis's takers set behind the table (an add lost while Redis was away): the set says the member has not
    started, so the start inserts attempt 1 at once; the table holds it, and the start is decided from the table."""
    from core.cache import get_redis, key

    frozen("2026-11-23 08:00")
    bank = make_bank(org.committee_a)
    created = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a), json={
        "question_ids": [q.id for q in bank], "max_attempts": 2}).get_json()
    headers = login(org.member_a)
    first = _start(client, headers, created["id"]).get_json()
    assert client.post(f"/api/v1/attempts/{first['id']}/submit", headers=headers, json={}).status_code == 200
    client.get("/api/v1/quizzes/current", headers=login(org.member_a2))  # builds the complete set from the table
    redis = get_redis()
    sets = list(redis.scan_iter(match=key("quiz", "takers", created["id"]) + ":*"))
    assert sets and all(redis.srem(name, org.member_a.id) == 1 for name in sets)  # the member drops out of the set
    second = _start(client, headers, created["id"])
    assert second.status_code == 201 and second.get_json()["number"] == 2, second.get_json()
    resumed = _start(client, headers, created["id"])
    assert resumed.status_code == 200 and resumed.get_json()["id"] == second.get_json()["id"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Attempt)) == 2


def test_closing_grades_attempts_left_open_and_is_safe_to_repeat(client, login, org, quiz, frozen):
    headers = login(org.member_a)
    attempt = _start(client, headers, quiz["id"]).get_json()
    client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers,
               json={"answers": answers_for(quiz["bank"], only={"single"})})
    assert close_due_quizzes(clock.now()) == []
    frozen("2026-11-30 00:05")
    closed = close_due_quizzes(clock.now())
    assert [q.id for q in closed] == [quiz["id"]]
    assert close_due_quizzes(clock.now()) == []
    assert db.session.get(Attempt, attempt["id"]).status == "submitted"
    assert db.session.scalar(db.select(QuizResult.score)) == 10


def test_a_member_with_no_quiz_this_week_hears_so(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    body = client.get("/api/v1/quizzes/current", headers=login(org.member_b)).get_json()
    assert body["quiz"] is None and body["state"] == "none"


def test_a_start_answers_201_and_a_resume_200_with_the_same_attempt(client, login, org, quiz):
    headers = login(org.member_a)
    started = _start(client, headers, quiz["id"])
    assert started.status_code == 201, started.get_json()
    resumed = _start(client, headers, quiz["id"])
    assert resumed.status_code == 200, resumed.get_json()
    assert resumed.get_json()["id"] == started.get_json()["id"]
    assert len(db.session.scalars(db.select(Attempt).where(Attempt.member_id == org.member_a.id)).all()) == 1


def test_the_attempt_dump_says_what_the_schemas_say(client, login, org, quiz, frozen):
    """A start's and a submit's response are dumped without marshmallow (quizzes.schemas.AttemptDump): each the same
    as its schema's own dump — in progress, submitted, revealed — and the hidden schema drops the answer fields even
    from a view that carries them."""
    from quizzes import services
    from quizzes.schemas import AttemptDump, AttemptSchema, RevealedAttemptSchema

    headers = login(org.member_a)
    started = _start(client, headers, quiz["id"]).get_json()
    client.put(f"/api/v1/attempts/{started['id']}/answers", headers=headers,
               json={"answers": answers_for(quiz["bank"], only={"single"})})
    views = [services.attempt_view(org.member_a, db.session.get(Attempt, started["id"]))]
    assert client.post(f"/api/v1/attempts/{started['id']}/submit", headers=headers, json={}).status_code == 200
    db.session.expire_all()
    views.append(services.attempt_view(org.member_a, db.session.get(Attempt, started["id"])))
    frozen("2026-11-30 00:05")
    close_due_quizzes(clock.now())
    db.session.expire_all()
    views.append(services.attempt_view(org.member_a, db.session.get(Attempt, started["id"])))
    assert [v["status"] for v in views] == ["in_progress", "submitted", "submitted"]
    assert views[0]["saved_at"] is not None and views[1]["result"]["submitted_at"] is not None
    assert views[-1]["answers_revealed"] and all("answer" in q for q in views[-1]["questions"])
    for view in views:
        for schema in (AttemptSchema(), RevealedAttemptSchema()):
            assert AttemptDump(schema).dump(view) == schema.dump(view)
    hidden = AttemptDump(AttemptSchema()).dump(views[-1])
    assert not any(name in q for q in hidden["questions"] for name in ("answer", "answer_text", "explanation"))
    assert isinstance(hidden["started_at"], str) and hidden["started_at"].endswith("+00:00")
