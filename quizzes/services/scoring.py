"""Grading an attempt and folding it into the member's result and points: once per attempt, the best attempt
counting, points by the best score's tier (a better later attempt swaps the tier up)."""
from sqlalchemy import select

from core.db import built_once, dialect_insert, locked
from core.extensions import db
from learning import points
from quizzes import grading
from quizzes.audience import grace
from quizzes.models import Attempt, AttemptAnswer, QuizResult


def grade_attempt(attempt, quiz, now):
    """Grade a locked in-progress attempt from its saved answers and fold it into the member's result.

    `quiz` is a Quiz or its cached definition (quizzes.definitions): both carry the items and questions.
    """
    late = now > attempt.deadline_at + grace()
    score, correct_count, rows = grade(quiz, attempt.answers or {}, attempt.id)
    attempt.status, attempt.score, attempt.correct_count = "submitted", score, correct_count
    attempt.late, attempt.submitted_at = late, min(now, attempt.deadline_at + grace()) if late else now
    db.session.flush()
    record_grade(attempt, quiz, rows)


def grade(quiz, answers, attempt_id):
    """(score, correct count, a graded answer row for each question) of `answers` to `quiz`."""
    score = correct_count = 0
    rows = []
    for item in quiz.items:
        question = item.question
        response = answers.get(str(question.id))
        correct = grading.is_correct(question.kind, question.answer, response)
        earned = item.points if correct else 0
        score += earned
        correct_count += correct
        rows.append({"attempt_id": attempt_id, "quiz_id": quiz.id, "question_id": question.id, "correct": correct,
                     "points": earned, "choice": None if question.kind == "blank"
                     else grading.choice_of(response)[:32]})
    return score, correct_count, rows


# Without RETURNING: psycopg's executemany sends one prepared INSERT for every row in one round trip (pipeline mode).
# With it, SQLAlchemy wrote one multi-row INSERT of 60 parameters, more than psycopg caches: the query was parsed
# again on each submit, by psycopg (a tenth of recording a grade) and by PostgreSQL (docs/bench.md, ninth round).
_ANSWERS_INSERT = AttemptAnswer.__table__.insert()


def record_grade(attempt, quiz, rows):
    """Insert a graded attempt's answer rows and fold it into the member's result (and points)."""
    if rows:  # no ORM objects: nothing reads them back in this request
        db.session.execute(_ANSWERS_INSERT, rows)
    _record_result(attempt, quiz)


def _record_result(attempt, quiz):
    passed = attempt.score >= quiz.pass_score
    rule = grading.tier(attempt.score, quiz.total_score, quiz.pass_score)
    # The first submit (nearly every one) is a single INSERT; a later attempt finds the row and locks it.
    inserted = db.session.execute(_result_insert(), {
        "quiz_id": quiz.id, "member_id": attempt.member_id, "branch_id": attempt.branch_id, "attempt_id": attempt.id,
        "score": attempt.score, "passed": passed, "attempts": 1, "submitted_at": attempt.submitted_at,
        "points_rule": rule}).first()
    if inserted is not None:
        _give_points(attempt.member_id, quiz, rule, attempt.score, attempt.submitted_at)
        return
    result = db.session.scalar(select(QuizResult).where(QuizResult.quiz_id == quiz.id,
                                                        QuizResult.member_id == attempt.member_id).with_for_update())
    result.attempts += 1
    if attempt.score > result.score:
        result.attempt_id, result.score = attempt.id, attempt.score
        result.passed, result.submitted_at = passed, attempt.submitted_at
    db.session.flush()
    _award_points(result, quiz, attempt.submitted_at)


@built_once
def _result_insert():
    table = QuizResult.__table__
    return (dialect_insert(table).on_conflict_do_nothing(index_elements=["quiz_id", "member_id"])
            .returning(table.c.id))


def _give_points(member_id, quiz, rule, score, occurred_at):
    points.award(member_id, rule, points_event_key(quiz.id, member_id, rule), occurred_at=occurred_at,
                 meta={"quiz_id": quiz.id, "title": quiz.title, "score": score})


def _award_points(result, quiz, occurred_at):
    """Points once per member per quiz, by the best score's tier; a better later attempt swaps the tier up."""
    rule = grading.tier(result.score, quiz.total_score, quiz.pass_score)
    if result.points_rule and grading.TIER_RANK[rule] <= grading.TIER_RANK[result.points_rule]:
        return
    if result.points_rule:
        points.revoke(points_event_key(quiz.id, result.member_id, result.points_rule), meta={"upgraded_to": rule})
    _give_points(result.member_id, quiz, rule, result.score, occurred_at)
    result.points_rule = rule


def points_event_key(quiz_id, member_id, rule):
    return f"quiz:{quiz_id}:member:{member_id}:{rule}"


def grade_left_open(quiz, now, *where):
    """Grade, under their row locks, the quiz's attempts still in progress that match `where`, with what they saved.

    The one way an attempt nobody submitted gets graded: a member's whose time ran out (`where` holds `expired(now)`),
    or all of them when the quiz closes. `quiz` is a Quiz or its cached definition. A row submitted meanwhile no
    longer matches once its lock is granted, so it is left alone.
    """
    left_open = locked(select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.status == "in_progress", *where)
                       .order_by(Attempt.id))
    for attempt in db.session.scalars(left_open).all():
        grade_attempt(attempt, quiz, now)


def expired(now):
    """A clause: attempts past their deadline and its grace."""
    return Attempt.deadline_at < now - grace()
