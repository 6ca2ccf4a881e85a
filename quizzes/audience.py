"""Who takes a quiz, who manages it, and who may see its answers: the quiz room's one rule (docs/quizzes.md).

- A branch takes one quiz a week: its own, else its nearest committee's (`branch_quiz`, the only place that says so).
- A quiz's managers are those who may edit it: the secretary of a branch quiz's branch, and the admins of the quiz's
  committee and of every committee above it. They may read its answers at any time, so they are never in its
  audience: they cannot take it, and are not counted, announced or reminded.
- Its audience: the active members of the branches that take it, its managers excepted.
- Until its results are final (the close plus the grace has passed and no attempt is still open), no one who may
  take it, or has an attempt at it, sees its answers or explanations: not in the quiz, not in the bank, not in a
  review of another quiz that asked the same question, on no endpoint and no console page (`answers_withheld`).
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from core import clock
from core.extensions import db
from members.models import Branch, Committee, Member
from members.scope import can_manage_branch, in_committee_subtree, managers_clause
from quizzes.models import Attempt, Quiz, QuizItem


def grace():
    """How long past its deadline an attempt still accepts saves and submits."""
    return timedelta(seconds=current_app.config["QUIZ_GRACE_SECONDS"])


# --- which quiz a branch takes ------------------------------------------------------------------------

def branch_quiz(branch_id, week):
    """A scalar subquery: the id of the quiz a branch takes in a week — its own, else its nearest committee's.

    `branch_id` and `week` are values or columns of an enclosing query, so this one expression answers for one
    branch, for every branch at once, and for each quiz in its own week.
    """
    home_branch, home, owner, quiz = aliased(Branch), aliased(Committee), aliased(Committee), aliased(Quiz)
    # A committee quiz is for every branch under it: the branch committee's path starts with the quiz committee's.
    return (select(quiz.id)
            .join(owner, owner.id == quiz.committee_id)
            .join(home_branch, home_branch.id == branch_id)
            .join(home, home.id == home_branch.committee_id)
            .where(quiz.week_key == week,
                   or_(quiz.branch_id == home_branch.id,
                       and_(quiz.branch_id.is_(None), home.path.like(owner.path + "%"))))
            .order_by(quiz.branch_id.is_(None), owner.path.desc())
            .limit(1)
            .scalar_subquery())


def quiz_id_for_branch(branch_id, week):
    """The id of the quiz a branch takes in a week, or None (one query)."""
    return db.session.scalar(select(branch_quiz(branch_id, week)))


def week_map(week):
    """{branch id: quiz id or None} for every branch in a week (one query)."""
    return dict(db.session.execute(select(Branch.id, branch_quiz(Branch.id, week))).all())


def audience_branch_ids(quiz):
    """A select of the branches that take a quiz (a deeper quiz that week, a branch's or a sub-committee's, wins)."""
    if quiz.branch_id is not None:
        candidates = select(Branch.id).where(Branch.id == quiz.branch_id)
    else:
        path = db.session.get(Committee, quiz.committee_id).path
        candidates = (select(Branch.id).join(Committee, Committee.id == Branch.committee_id)
                      .where(Committee.path.like(path + "%")))
    return candidates.where(branch_quiz(Branch.id, quiz.week_key) == quiz.id)


# --- managers and audience ----------------------------------------------------------------------------

def is_quiz_manager(member, quiz):
    """Whether a member manages (may edit, and read the answers of) a quiz; a Quiz or its cached definition."""
    if quiz.branch_id is None:
        return in_committee_subtree(member, quiz.committee_id)
    return can_manage_branch(member, db.session.get(Branch, quiz.branch_id))


def quiz_audience(quiz):
    """A select of Member.id: the active members a quiz is for, its managers excepted (iterate in chunks)."""
    return select(Member.id).where(Member.active.is_(True), Member.branch_id.in_(audience_branch_ids(quiz)),
                                   ~managers_clause(quiz.committee_id, quiz.branch_id))


def takes_quiz(member, quiz):
    """Whether a member is in a quiz's audience (a Quiz or its definition): their branch's, and not theirs to manage."""
    # Imported here: quizzes.definitions imports this module (the audience rule) at its top.
    from quizzes.definitions import quiz_id_for_branch as cached_quiz_id_for_branch

    if not (member.active and member.branch_id):
        return False
    return cached_quiz_id_for_branch(member.branch_id, quiz.week_key) == quiz.id and not is_quiz_manager(member, quiz)


# --- when answers may be read, and by whom ------------------------------------------------------------

def _unsettled(now):
    """A clause over Quiz: its results may still change (before the close plus grace, or an attempt still open)."""
    open_attempt = exists().where(Attempt.quiz_id == Quiz.id, Attempt.status == "in_progress")
    return or_(Quiz.closes_at > now - grace(), and_(Quiz.closed_at.is_(None), open_attempt))


def results_final(quiz, now=None):
    """Whether no attempt at a quiz can change any more: past its close plus the grace, and every attempt graded."""
    now = now or clock.now()
    if now <= quiz.closes_at + grace():
        return False
    if getattr(quiz, "closed_at", None) is not None:  # the closing job graded every attempt (a definition has none)
        return True
    return not db.session.scalar(select(exists().where(Attempt.quiz_id == quiz.id,
                                                       Attempt.status == "in_progress")))


def answers_withheld(member, now=None):
    """The ids of the questions whose answers and explanations a member may not read now.

    Those of every quiz whose results are not final that the member may take (it is their branch's and they do not
    manage it) or has an attempt at. Every reader of answers — quiz detail, bank, console pages, reviews, item
    analysis — asks this, so the rule holds wherever a question is shown.
    """
    now = now or clock.now()
    attempted = Quiz.id.in_(select(Attempt.quiz_id).where(Attempt.member_id == member.id))
    yours = [attempted]
    if member.active and member.branch_id:
        branch = db.session.get(Branch, member.branch_id)
        lineage = [int(part) for part in branch.committee.path.strip("/").split("/") if part]
        yours.append(and_(Quiz.committee_id.in_(lineage), Quiz.id == branch_quiz(member.branch_id, Quiz.week_key)))
    rows = db.session.execute(select(Quiz, attempted).where(_unsettled(now), or_(*yours))).all()
    quiz_ids = [quiz.id for quiz, has_attempt in rows if has_attempt or not is_quiz_manager(member, quiz)]
    if not quiz_ids:
        return set()
    return set(db.session.scalars(select(QuizItem.question_id).where(QuizItem.quiz_id.in_(quiz_ids))))


def show_answers(member, questions, now=None):
    """Mark each question with whether the member may read its answer (`answers_withheld` on it); returns them.

    Schemas that carry answers blank them unless a question was marked readable, so a path that forgets to ask
    shows no answer rather than a leaked one.
    """
    withheld = answers_withheld(member, now)
    for question in questions:
        question.answers_withheld = question.id in withheld
    return questions


__all__ = ["grace", "branch_quiz", "quiz_id_for_branch", "week_map", "audience_branch_ids", "is_quiz_manager",
           "quiz_audience", "takes_quiz", "results_final", "answers_withheld", "show_answers"]
