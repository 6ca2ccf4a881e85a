"""Which quizzes a member, a secretary or an admin may see, and the loaders that answer 404 or 403 for the rest.

Who takes and who manages a quiz is quizzes/audience.py's one rule; this module only loads and lists by it.
"""
from sqlalchemy import select

from core import clock
from core.errors import Forbidden, NotFound
from core.extensions import db
from members.models import Branch
from members.scope import can_see_owned, in_branch_line, managed_branch_ids, owned_visible_clause
from quizzes import audience, definitions
from quizzes.audience import audience_branch_ids
from quizzes.models import Quiz


def quiz_for_branch(branch, week=None):
    """The quiz a branch's members take in a week: the branch's own, else the nearest committee's; or None."""
    quiz_id = audience.quiz_id_for_branch(branch.id, week or clock.week_key())
    return db.session.get(Quiz, quiz_id) if quiz_id is not None else None


def quiz_for_taker(member, quiz_id):
    """The definition of a quiz a member may take: 404 if not theirs to see, 403 if not in its audience."""
    quiz = definitions.get_definition(quiz_id)
    if quiz is None:
        raise NotFound("测验不存在")
    if audience.takes_quiz(member, quiz):
        return quiz
    # Not this member's quiz: tell "not yours to see" (404) from "a deeper quiz is yours" or "you manage it" (403).
    row = db.session.get(Quiz, quiz_id)
    if not (member.branch_id and in_branch_line(member.branch_id, row)):
        raise NotFound("测验不存在")
    if audience.is_quiz_manager(member, row):
        raise Forbidden("你管理本测验、可查看答案，因此不参加作答，也不计入统计", code="not_in_audience")
    raise Forbidden("本测验不面向你所在的支部", code="not_in_audience")


def can_manage_quiz(member, quiz):
    """Secretaries see quizzes for their branch; admins quizzes of their subtree or of a committee above them."""
    return can_see_owned(member, quiz)


def can_edit_quiz(member, quiz):
    """Whether a member manages the quiz: edits it, reads its answers at any time, and is not in its audience."""
    return audience.is_quiz_manager(member, quiz)


def quiz_for_manager(member, quiz_id):
    """Load a quiz a secretary or admin may see; else 404."""
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None or not can_manage_quiz(member, quiz):
        raise NotFound("测验不存在")
    return quiz


def scoped_branch_ids(member, quiz):
    """A select of the quiz's audience branches the member manages."""
    return audience_branch_ids(quiz).where(Branch.id.in_(managed_branch_ids(member)))


def list_quizzes(member, week=None):
    """A select of quizzes a secretary or admin may see, newest week first."""
    stmt = select(Quiz).where(owned_visible_clause(member, Quiz))
    if week:
        stmt = stmt.where(Quiz.week_key == week)
    return stmt.order_by(Quiz.week_key.desc(), Quiz.id.desc())
