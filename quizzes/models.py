"""The question bank, weekly quizzes, attempts and results."""
from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text

from core import clock
from core.db import BigId, UTCDateTime
from core.extensions import db

QUESTION_TYPES = ("single", "multiple", "judge", "blank")
TYPE_LABELS = {"single": "单选题", "multiple": "多选题", "judge": "判断题", "blank": "填空题"}
DIFFICULTIES = {1: "易", 2: "中", 3: "难"}


class Question(db.Model):
    """A bank question, owned by a committee (shared with its branches) or by one branch.

    A question that has appeared in a quiz is never rewritten: an edit retires it and makes a new version,
    so past results stay true.
    """

    __tablename__ = "quiz_questions"
    __table_args__ = (
        CheckConstraint("kind IN ('single', 'multiple', 'judge', 'blank')", name="kind_known"),
        Index("ix_quiz_questions_owner", "committee_id", "branch_id", "status"),
    )
    id = db.Column(db.Integer, primary_key=True)
    committee_id = db.Column(db.Integer, db.ForeignKey("committees.id"), nullable=False)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), nullable=True)
    kind = db.Column(db.String(16), nullable=False)
    stem = db.Column(db.Text, nullable=False)
    # Normalised-stem digest: finds a stem already in the bank without comparing long texts.
    stem_key = db.Column(db.String(40), nullable=False, index=True)
    options = db.Column(db.JSON, nullable=False, default=list)  # [{"key": "A", "text": "..."}]
    answer = db.Column(db.JSON, nullable=False)  # "A" | ["A","C"] | "T"/"F" | [["variant", ...], ...]
    explanation = db.Column(db.Text, nullable=False, default="")
    tags = db.Column(db.String(255), nullable=False, default="")  # ",党史,党章," so one LIKE filters a tag
    difficulty = db.Column(db.Integer, nullable=False, default=2)
    source = db.Column(db.String(200), nullable=False, default="")
    status = db.Column(db.String(16), nullable=False, default="active")
    replaced_by_id = db.Column(db.Integer, db.ForeignKey("quiz_questions.id"), nullable=True)
    created_by_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)
    retired_at = db.Column(UTCDateTime, nullable=True)

    @property
    def tag_list(self):
        return [t for t in self.tags.split(",") if t]


class Quiz(db.Model):
    """One week's quiz for a committee (its whole subtree) or a single branch."""

    __tablename__ = "quizzes"
    __table_args__ = (
        UniqueConstraint("scope_key", "week_key"),
        Index("ix_quizzes_week_committee", "week_key", "committee_id"),
    )
    id = db.Column(db.Integer, primary_key=True)
    committee_id = db.Column(db.Integer, db.ForeignKey("committees.id"), nullable=False)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), nullable=True, index=True)
    scope_key = db.Column(db.String(32), nullable=False)  # "c:<committee>" or "b:<branch>": one quiz a week each
    week_key = db.Column(db.String(10), nullable=False)
    title = db.Column(db.String(200), nullable=False)
    opens_at = db.Column(UTCDateTime, nullable=False)
    closes_at = db.Column(UTCDateTime, nullable=False, index=True)
    time_limit_minutes = db.Column(db.Integer, nullable=False, default=15)
    max_attempts = db.Column(db.Integer, nullable=False, default=1)
    total_score = db.Column(db.Integer, nullable=False)
    pass_score = db.Column(db.Integer, nullable=False)
    reveal_answers = db.Column(db.Boolean, nullable=False, default=True)
    assembly = db.Column(db.JSON, nullable=True)  # the rules an automatic quiz was assembled by
    closed_at = db.Column(UTCDateTime, nullable=True)
    created_by_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)

    items = db.relationship("QuizItem", order_by="QuizItem.position", lazy="selectin",
                            cascade="all, delete-orphan")

    def phase(self, now=None):
        """'upcoming', 'open' or 'closed' at a moment."""
        now = now or clock.now()
        if now < self.opens_at:
            return "upcoming"
        return "open" if now < self.closes_at else "closed"


class QuizItem(db.Model):
    """A question in a quiz, with its points."""

    __tablename__ = "quiz_items"
    __table_args__ = (UniqueConstraint("quiz_id", "question_id"),)
    id = db.Column(db.Integer, primary_key=True)
    quiz_id = db.Column(db.Integer, db.ForeignKey("quizzes.id"), nullable=False)
    question_id = db.Column(db.Integer, db.ForeignKey("quiz_questions.id"), nullable=False, index=True)
    position = db.Column(db.Integer, nullable=False)
    points = db.Column(db.Integer, nullable=False, default=10)
    question = db.relationship(Question, lazy="joined")


class Attempt(db.Model):
    """One member's go at a quiz: shuffled order, autosaved answers, and once submitted, the grade."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        UniqueConstraint("quiz_id", "member_id", "number"),
        # The open attempts of a quiz (closing, expiry). Partial and keyed by member too, and the results' branch
        # index leads with the branch: neither can serve a member's lookup of this week's quiz by scanning the quiz,
        # which PostgreSQL chose while its statistics still held the new quiz as empty (found by the soak, README).
        Index("ix_quiz_attempts_in_progress", "quiz_id", "member_id",
              postgresql_where=text("status = 'in_progress'"), sqlite_where=text("status = 'in_progress'")),
        Index("ix_quiz_attempts_member", "member_id", "quiz_id"),
    )
    id = db.Column(BigId, primary_key=True)
    quiz_id = db.Column(db.Integer, db.ForeignKey("quizzes.id"), nullable=False)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), nullable=True)
    number = db.Column(db.Integer, nullable=False, default=1)
    status = db.Column(db.String(16), nullable=False, default="in_progress")  # in_progress | submitted
    order = db.Column(db.JSON, nullable=False)  # [{"q": question_id, "o": ["C", "A", ...]}]
    answers = db.Column(db.JSON, nullable=False, default=dict)  # {"<question_id>": response}
    started_at = db.Column(UTCDateTime, nullable=False)
    deadline_at = db.Column(UTCDateTime, nullable=False)
    saved_at = db.Column(UTCDateTime, nullable=True)
    submitted_at = db.Column(UTCDateTime, nullable=True)
    late = db.Column(db.Boolean, nullable=False, default=False)
    score = db.Column(db.Integer, nullable=True)
    correct_count = db.Column(db.Integer, nullable=True)


class AttemptAnswer(db.Model):
    """A graded response to one question of a submitted attempt: what item analysis aggregates.

    Keyed by its attempt and question, and its one foreign key is its attempt's. Its quiz is the attempt's (copied
    here for item analysis) and its question one of that quiz's items; a started quiz cannot be deleted, nor can any
    question. Checking those two keys as well, and keeping a surrogate id, cost every submit twenty more lookups and
    row locks and ten more index entries (docs/bench.md, the fourteenth round).
    """

    __tablename__ = "quiz_attempt_answers"
    __table_args__ = (
        Index("ix_quiz_attempt_answers_quiz_question", "quiz_id", "question_id"),
    )
    attempt_id = db.Column(BigId, db.ForeignKey("quiz_attempts.id"), primary_key=True, autoincrement=False)
    question_id = db.Column(db.Integer, primary_key=True, autoincrement=False)  # one of the quiz's items
    quiz_id = db.Column(db.Integer, nullable=False)  # the attempt's
    choice = db.Column(db.String(32), nullable=True)  # chosen option keys, sorted ("AC"); None for blanks
    correct = db.Column(db.Boolean, nullable=False)
    points = db.Column(db.Integer, nullable=False)


class QuizResult(db.Model):
    """A member's counted result in a quiz: their best submitted attempt.

    Its one foreign key is that attempt's: its quiz, member and branch are the attempt's, whose own keys check them
    (as AttemptAnswer's, one key checked on the Monday peak's submit, not four).
    """

    __tablename__ = "quiz_results"
    __table_args__ = (
        UniqueConstraint("quiz_id", "member_id"),
        Index("ix_quiz_results_branch_quiz", "branch_id", "quiz_id"),
        Index("ix_quiz_results_member", "member_id"),
    )
    id = db.Column(BigId, primary_key=True)
    quiz_id = db.Column(db.Integer, nullable=False)  # the attempt's
    member_id = db.Column(db.Integer, nullable=False)  # the attempt's
    branch_id = db.Column(db.Integer, nullable=True)  # the attempt's
    attempt_id = db.Column(BigId, db.ForeignKey("quiz_attempts.id"), nullable=False)
    score = db.Column(db.Integer, nullable=False)
    passed = db.Column(db.Boolean, nullable=False)
    attempts = db.Column(db.Integer, nullable=False, default=1)
    points_rule = db.Column(db.String(32), nullable=True)
    submitted_at = db.Column(UTCDateTime, nullable=False)
