"""Scheduler-facing: which quizzes are open or due, and closing a week (grading what was left open)."""
from sqlalchemy import select, update

from core import fresh
from core.extensions import db
from quizzes import audience, definitions
from quizzes.audience import grace
from quizzes.models import Quiz
from quizzes.services.scoring import grade_left_open


def open_quizzes(now):
    """A select of the quizzes open at a moment."""
    return select(Quiz).where(Quiz.opens_at <= now, Quiz.closes_at > now).order_by(Quiz.id)


def open_quiz_for_branch(branch, now):
    """The quiz a branch's members take that is open at a moment (the first to close, if two windows overlap)."""
    return db.session.scalars(open_quizzes(now).where(Quiz.id == audience.branch_quiz(branch.id, Quiz.week_key))
                              .order_by(None).order_by(Quiz.closes_at, Quiz.id).limit(1)).first()


def quizzes_due_between(since, now):
    """A select of the quizzes whose close plus grace fell after `since` and by `now`, closed yet or not."""
    return (select(Quiz).where(Quiz.closes_at > since - grace(), Quiz.closes_at <= now - grace())
            .order_by(Quiz.id))


def close_due_quizzes(now):
    """Close every quiz past its end (plus grace): grade attempts left open, stamp closed_at. Safe to repeat."""
    due = db.session.scalars(select(Quiz.id).where(Quiz.closes_at <= now - grace(), Quiz.closed_at.is_(None))).all()
    closed = []
    for quiz_id in due:
        quiz = db.session.get(Quiz, quiz_id)
        grade_left_open(quiz, now)
        stamped = db.session.execute(update(Quiz).where(Quiz.id == quiz_id, Quiz.closed_at.is_(None))
                                     .values(closed_at=now))
        db.session.commit()
        if stamped.rowcount:
            fresh.bump(definitions.week_gen(quiz.week_key))  # members' cached weeks show it closed from now
            closed.append(db.session.get(Quiz, quiz_id))
    return closed
