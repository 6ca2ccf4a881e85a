"""The verbs of the weekly quiz, one module per concept; they own their transactions.

- authoring: create, edit, delete and assemble quizzes.
- visibility: which quizzes a member, secretary or admin may see (by quizzes/audience.py's rule), and their loaders.
- week: where a member stands in a quiz (the state of their week).
- attempts: start, autosave, submit.
- review: what the phone is shown of an attempt, and the member's page of quizzes.
- scoring: grading an attempt and folding it into the member's result and points.
- first_submit: a first attempt submitted whole, written in one statement on PostgreSQL (the attempt, its graded
  answers, the result and the points).
- takers: who has started the week's quiz, kept in Redis, with the week's branch map read in the same round trip.
- closing: the scheduler's side — open and due quizzes, closing a week.
- current: the member's week as /quizzes/current shows it, cached whole per member (core.fresh).

The question bank's verbs live in quizzes/bank.py. What the views and the other rooms call is re-exported here,
so `from quizzes import services` and `from quizzes.services import x` keep working.
"""
from quizzes.services.attempts import save_answers, start_attempt, submit_attempt
from quizzes.services.authoring import WEEK_RE, assemble, create_quiz, delete_quiz, update_quiz
from quizzes.services.closing import close_due_quizzes, open_quiz_for_branch, open_quizzes, quizzes_due_between
from quizzes.services.review import attempt_view, my_quizzes, seconds_left, show_attempt
from quizzes.services.scoring import grade_attempt
from quizzes.services.visibility import (
    can_edit_quiz,
    list_quizzes,
    quiz_for_branch,
    quiz_for_manager,
    scoped_branch_ids,
)
from quizzes.services.week import current_state

__all__ = ["WEEK_RE", "assemble", "attempt_view", "can_edit_quiz", "close_due_quizzes", "create_quiz",
           "current_state", "delete_quiz", "grade_attempt", "list_quizzes", "my_quizzes", "open_quiz_for_branch",
           "open_quizzes", "quiz_for_branch", "quiz_for_manager", "quizzes_due_between", "save_answers",
           "scoped_branch_ids", "seconds_left", "show_attempt", "start_attempt", "submit_attempt", "update_quiz"]
