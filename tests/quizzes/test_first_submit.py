"""A first attempt submitted whole, in one statement on PostgreSQL (quizzes.services.first_submit): the same rows as
the usual way, all or nothing, and the usual way whenever the statement does not apply or writes nothing."""
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.extensions import db
from learning.models import PointEntry
from learning.points import member_points
from quizzes.models import Attempt, AttemptAnswer, QuizItem, QuizResult
from quizzes.services.scoring import points_event_key
from tests.quizzes.helpers import answers_for, make_bank
from tests.quizzes.test_attempts import quiz  # noqa: F401  (the fixture)
from tests.sql import as_a_request_starts, statements


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _submit(client, headers, attempt_id, answers):
    as_a_request_starts()
    with statements() as seen:
        response = client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers, json={"answers": answers})
    assert response.status_code == 200, response.get_json()
    # (Not the session's, nor the committee's path, which the boards read once a process: learning.leaderboards.)
    return response.get_json(), [s.lstrip().split()[0] for s in seen if "auth_sessions" not in s
                                 and "FROM committees" not in s and not s.startswith(("BEGIN", "COMMIT"))]


def _started(client, headers, quiz_id):
    response = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_a_first_submit_writes_what_the_usual_way_writes(client, login, org, quiz):  # noqa: F811
    headers, member_id = login(org.member_a), org.member_a.id
    attempt_id = _started(client, headers, quiz["id"])
    answers = answers_for(quiz["bank"])
    answers.update(answers_for([q for q in quiz["bank"] if q.kind == "judge"], right=False))
    questions = [q.id for q in quiz["bank"]]
    judge = next(q.id for q in quiz["bank"] if q.kind == "judge")
    blank = next(q.id for q in quiz["bank"] if q.kind == "blank")
    board_url = f"/api/v1/branches/{org.branch_a.id}/leaderboard?period=week"
    assert client.get(board_url, headers=headers).get_json()["me"]["points"] == 0
    body, sql = _submit(client, headers, attempt_id, answers)
    # PostgreSQL: the one statement; SQLite: the usual way (the attempt, its answers, the result, the points).
    assert sql == (["WITH"] if db.engine.dialect.name == "postgresql" else ["UPDATE", "INSERT", "INSERT", "INSERT"])
    assert body["status"] == "submitted" and body["result"]["score"] == 30 and body["result"]["correct_count"] == 3
    attempt = db.session.get(Attempt, attempt_id)
    assert (attempt.status, attempt.score, attempt.correct_count, attempt.late) == ("submitted", 30, 3, False)
    assert attempt.answers == answers and attempt.submitted_at == clock.now() == attempt.saved_at
    graded = db.session.execute(select(AttemptAnswer.question_id, AttemptAnswer.correct, AttemptAnswer.points,
                                       AttemptAnswer.choice, AttemptAnswer.quiz_id)
                                .where(AttemptAnswer.attempt_id == attempt_id)).all()
    assert {(q, c, p) for q, c, p, _, _ in graded} == {(q, q != judge, 0 if q == judge else 10) for q in questions}
    assert {q: choice for q, _, _, choice, _ in graded}[blank] is None and {g[4] for g in graded} == {quiz["id"]}
    result = db.session.scalar(select(QuizResult).where(QuizResult.member_id == member_id))
    assert (result.attempt_id, result.score, result.passed, result.attempts, result.points_rule) == (
        attempt_id, 30, True, 1, "quiz_passed")
    entry = db.session.scalar(select(PointEntry).where(PointEntry.member_id == member_id))
    assert (entry.rule, entry.points, entry.event_key, entry.day) == (
        "quiz_passed", 6, points_event_key(quiz["id"], member_id, "quiz_passed"), clock.today())
    assert entry.meta == {"quiz_id": quiz["id"], "title": "第48周测验", "score": 30}
    assert member_points(member_id)["total"] == 6
    board = client.get(board_url, headers=headers).get_json()  # the board built before, added to by the submit
    assert board["me"]["points"] == 6, board
    again, _ = _submit(client, headers, attempt_id, answers)  # the phone's retry: the same result, nothing more
    assert again["result"] == body["result"] and _count(AttemptAnswer) == 4 and _count(PointEntry) == 1


def test_a_points_event_already_there_leaves_it_all_to_the_usual_way(client, login, org, quiz):  # noqa: F811
    """The statement meets a unique key it should never meet (here a points event recorded before): nothing of it
    is written, and the usual way writes the submit — once, with no second award."""
    headers, member_id = login(org.member_a), org.member_a.id
    attempt_id = _started(client, headers, quiz["id"])
    db.session.add(PointEntry(member_id=member_id, rule="quiz_full_marks", points=8, day=clock.today(),
                              event_key=points_event_key(quiz["id"], member_id, "quiz_full_marks"),
                              occurred_at=clock.now(), meta={}))
    db.session.commit()
    body, sql = _submit(client, headers, attempt_id, answers_for(quiz["bank"]))
    if db.engine.dialect.name == "postgresql":
        assert sql[:2] == ["WITH", "UPDATE"], sql  # the statement failed whole; then the usual way
    assert body["result"]["score"] == 40
    assert _count(AttemptAnswer) == 4 and _count(QuizResult) == 1
    assert _count(Attempt, Attempt.status == "submitted") == 1
    assert member_points(member_id)["total"] == 8 and _count(PointEntry) == 1


def test_a_capped_tier_and_a_later_attempt_go_the_usual_way(app, client, login, org, quiz, monkeypatch):  # noqa: F811
    rules = {**app.config["POINT_RULES"], "quiz_full_marks": {"points": 8, "daily_cap": 8}}
    monkeypatch.setitem(app.config, "POINT_RULES", rules)
    headers, member_id = login(org.member_a), org.member_a.id
    attempt_id = _started(client, headers, quiz["id"])
    body, sql = _submit(client, headers, attempt_id, answers_for(quiz["bank"]))
    assert sql[0] == "UPDATE" and body["result"]["score"] == 40 and member_points(member_id)["total"] == 8


@pytest.fixture
def two_tries(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    bank = make_bank(org.committee_a)
    created = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a), json={
        "question_ids": [q.id for q in bank], "max_attempts": 2})
    assert created.status_code == 201, created.get_json()
    return {"id": created.get_json()["id"], "wrong": answers_for(bank, right=False), "right": answers_for(bank)}


def test_a_second_attempt_goes_the_usual_way_and_swaps_the_tier_up(client, login, org, two_tries):
    headers, member_id = login(org.member_a), org.member_a.id
    first = _started(client, headers, two_tries["id"])
    body, _ = _submit(client, headers, first, two_tries["wrong"])
    assert body["result"]["passed"] is False and member_points(member_id)["total"] == 2  # quiz_taken
    second = _started(client, headers, two_tries["id"])
    body, sql = _submit(client, headers, second, two_tries["right"])
    assert body["result"]["score"] == 40
    if db.engine.dialect.name == "postgresql":
        assert sql[:2] == ["WITH", "UPDATE"], sql  # not the first attempt: the statement wrote nothing
    result = db.session.scalar(select(QuizResult).where(QuizResult.member_id == member_id))
    assert (result.attempt_id, result.score, result.attempts, result.points_rule) == (second, 40, 2, "quiz_full_marks")
    assert member_points(member_id)["total"] == 8 and _count(AttemptAnswer) == 8


def test_what_the_dropped_keys_checked_still_holds(client, login, org, two_tries):
    """Migration quizzes_0003 left the graded answers and results one foreign key, their attempt's: every way of
    writing them still copies the attempt's quiz, member and branch, and names only the quiz's questions; and an
    answer or result naming no attempt is still refused."""
    headers, other, member_id, branch_id = login(org.member_a), login(org.member_a2), org.member_a.id, org.branch_a.id
    first = _started(client, headers, two_tries["id"])
    _submit(client, headers, first, two_tries["wrong"])  # PostgreSQL: the one statement
    second = _started(client, headers, two_tries["id"])
    _submit(client, headers, second, two_tries["right"])  # the usual way, swapping the result to this attempt
    partial = dict(list(two_tries["right"].items())[:2])
    _submit(client, other, _started(client, other, two_tries["id"]), partial)  # not whole: the usual way
    results = db.session.execute(select(QuizResult.quiz_id, QuizResult.member_id, QuizResult.branch_id,
                                        Attempt.quiz_id, Attempt.member_id, Attempt.branch_id)
                                 .join(Attempt, Attempt.id == QuizResult.attempt_id)).all()
    assert len(results) == 2 and all(r[:3] == r[3:] for r in results), results
    answers = db.session.execute(select(AttemptAnswer.quiz_id, Attempt.quiz_id, AttemptAnswer.question_id)
                                 .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)).all()
    items = set(db.session.scalars(select(QuizItem.question_id).where(QuizItem.quiz_id == two_tries["id"])))
    assert len(answers) == 12 and all(a == b == two_tries["id"] and q in items for a, b, q in answers), answers
    for orphan in (AttemptAnswer(attempt_id=999999, question_id=next(iter(items)), quiz_id=two_tries["id"],
                                 correct=True, points=10),
                   QuizResult(quiz_id=two_tries["id"], member_id=member_id, branch_id=branch_id,
                              attempt_id=999999, score=0, passed=False, submitted_at=clock.now())):
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.add(orphan)
            db.session.flush()
