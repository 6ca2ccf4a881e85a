"""A member's first attempt at a quiz, submitted whole and in time, written in one statement on PostgreSQL.

The Monday peak's submit: the attempt's UPDATE, its graded answers, the member's result and the points of its tier,
as data-modifying CTEs of one statement, run alone (autocommit: one round trip where the same writes in a
transaction take six — BEGIN, four statements, COMMIT). The statement is all or nothing. Each write after the
UPDATE reads the row it returned, so nothing is written unless the attempt was the member's first, in progress and
in time; and a result or a points event already there (which a first attempt cannot meet) fails the whole statement
with its unique key, nothing written. Either way the caller writes the submit the usual way
(quizzes.services.attempts, scoring), which decides from the tables.

Used only where points.award would itself be one INSERT: the tier's rule has no daily cap. SQLite, and a cap, take
the usual way.
"""
from sqlalchemy import JSON, Integer, bindparam, text
from sqlalchemy.exc import IntegrityError

from core import clock
from core.db import UTCDateTime, alone
from core.extensions import db
from learning import leaderboards, points
from quizzes import grading
from quizzes.services.scoring import points_event_key

_STATEMENT = text("""
WITH submitted AS (
    UPDATE quiz_attempts
    SET answers = :final, saved_at = :now, status = 'submitted', score = :score, correct_count = :correct,
        late = false, submitted_at = :now
    WHERE id = :attempt_id AND member_id = :member_id AND quiz_id = :quiz_id AND status = 'in_progress'
        AND deadline_at >= :in_time_since AND number = 1
    RETURNING id, branch_id, number, "order", started_at, deadline_at
), graded AS (
    INSERT INTO quiz_attempt_answers (attempt_id, quiz_id, question_id, choice, correct, points)
    SELECT submitted.id, :quiz_id, g.question_id, g.choice, g.correct, g.points
    FROM submitted, json_to_recordset(:graded) AS g(question_id integer, choice text, correct boolean, points integer)
), result AS (
    INSERT INTO quiz_results (quiz_id, member_id, branch_id, attempt_id, score, passed, attempts, points_rule,
                              submitted_at)
    SELECT :quiz_id, :member_id, submitted.branch_id, submitted.id, :score, :passed, 1, :rule, :now FROM submitted
    RETURNING id
), earned AS (
    INSERT INTO point_entries (member_id, rule, points, event_key, occurred_at, day, meta, created_at)
    SELECT :member_id, :rule, :rule_points, :event_key, :now, :day, :meta, :now FROM result
)
SELECT branch_id, number, "order", started_at, deadline_at FROM submitted
""").bindparams(
    bindparam("final", type_=JSON), bindparam("meta", type_=JSON), bindparam("now", type_=UTCDateTime),
    bindparam("in_time_since", type_=UTCDateTime), bindparam("graded", type_=JSON),
).columns(branch_id=Integer, number=Integer, order=JSON, started_at=UTCDateTime, deadline_at=UTCDateTime)


def write(member_id, attempt_id, quiz, final, graded, now, in_time_since):
    """Write the submit of the member's first attempt in one statement: the row the UPDATE returned (branch_id,
    number, order, started_at, deadline_at), or None with nothing written (not PostgreSQL, a tier with a daily cap,
    not their first attempt in progress and in time, or a result or points event already there)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    score, correct_count, rows = graded
    rule = grading.tier(score, quiz.total_score, quiz.pass_score)
    spec = points.rule_spec(rule)
    if spec.get("daily_cap") is not None:  # points.award would read and lock first
        return None
    rule_points = spec["points"]
    day = clock.local_day_of(now)
    params = {"attempt_id": attempt_id, "member_id": member_id, "quiz_id": quiz.id, "in_time_since": in_time_since,
              "final": final, "now": now, "score": score, "correct": correct_count,
              "graded": rows,  # one JSON text: psycopg dumped four arrays element by element in Python
              "passed": score >= quiz.pass_score, "rule": rule, "rule_points": rule_points,
              "event_key": points_event_key(quiz.id, member_id, rule), "day": day,
              "meta": {"quiz_id": quiz.id, "title": quiz.title, "score": score}}
    try:
        found = alone(_STATEMENT, params)
    except IntegrityError:
        db.session.rollback()
        return None
    if not found:
        return None
    if rule_points:
        leaderboards.after_commit_add(member_id, day, rule_points)
    return found[0]
