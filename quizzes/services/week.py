"""Where a member stands in a quiz: the state of their week (not started, in progress, submitted, closed), read
from their attempts and counted result (an attempt whose time ran out is graded first)."""
from sqlalchemy import and_, select

from core import clock
from core.extensions import db
from quizzes import audience, definitions
from quizzes.audience import grace
from quizzes.models import Attempt, QuizResult
from quizzes.services.scoring import expired, grade_left_open
from quizzes.services.takers import UNKNOWN
from quizzes.services.visibility import quiz_for_taker


def current_state(member, quiz_id=None, lookup=None):
    """This member's quiz this week, or the quiz `quiz_id` (404/403 unless theirs to take), and where they are in it
    (reads only; an expired attempt is graded first). `lookup(member)` → (the week's quiz id, whether the member has
    started it), either maybe takers.UNKNOWN: what Redis knows, asked in one round trip (quizzes.services.takers)."""
    now = clock.now()
    week = clock.week_key()
    state = _no_quiz(week)
    taken = UNKNOWN
    if quiz_id is not None:
        quiz = quiz_for_taker(member, quiz_id)
        state["week_key"] = quiz.week_key
    else:
        found = UNKNOWN
        if member.branch_id and lookup is not None:
            found, taken = lookup(member)
        if found is UNKNOWN:
            found = definitions.quiz_id_for_branch(member.branch_id, week) if member.branch_id else None
        if found is None:
            return state
        quiz = definitions.get_definition(found)
        if audience.is_quiz_manager(member, quiz):  # its managers read its answers, so they do not take it
            return state
    attempts, result = ([], None) if taken is False else _week_rows(quiz.id, member.id)
    in_progress = next((a for a in attempts if a.status == "in_progress"), None)
    if in_progress is not None and in_progress.deadline_at < now - grace():
        # Time ran out while the phone was away: grade it now, so the state shown is the final one.
        grade_left_open(quiz, now, Attempt.member_id == member.id, expired(now))
        db.session.commit()
        attempts, result = _week_rows(quiz.id, member.id)
    return _shown(state, quiz, attempts, result, now)


def not_started_state(quiz, week):
    """The week as it shows to any member who takes `quiz` and has no attempt at it (the same for each of them)."""
    return _shown(_no_quiz(week), quiz, [], None, clock.now())


def _no_quiz(week):
    return {"week_key": week, "quiz": None, "phase": None, "state": "none", "attempts_used": 0, "attempts_left": 0,
            "attempt": None, "result": None}


def _shown(state, quiz, attempts, result, now):
    """Fill `state` with where a member stands in `quiz`, given their attempts and counted result."""
    in_progress = next((a for a in attempts if a.status == "in_progress"), None)
    used = len(attempts)
    phase = quiz.phase(now)
    if in_progress:
        label = "in_progress"
    elif phase == "upcoming":
        label = "upcoming"
    elif phase == "closed":
        label = "closed" if result is None else "submitted"
    else:
        label = "submitted" if result is not None else "not_started"
    state.update(quiz=quiz, phase=phase, state=label, attempts_used=used, attempt=in_progress, result=result,
                 attempts_left=max(0, quiz.max_attempts - used) if phase == "open" else 0)
    return state


def _week_rows(quiz_id, member_id):
    """One query: the member's attempts at a quiz and their counted result (or None)."""
    rows = db.session.execute(
        select(Attempt.id, Attempt.status, Attempt.deadline_at, QuizResult.score, QuizResult.passed,
               QuizResult.attempts, QuizResult.submitted_at)
        .outerjoin(QuizResult, and_(QuizResult.quiz_id == Attempt.quiz_id, QuizResult.member_id == Attempt.member_id))
        .where(Attempt.quiz_id == quiz_id, Attempt.member_id == member_id).order_by(Attempt.number)).all()
    result = None
    if rows and rows[0].score is not None:
        first = rows[0]
        result = {"score": first.score, "passed": first.passed, "attempts": first.attempts,
                  "submitted_at": first.submitted_at}
    return rows, result
