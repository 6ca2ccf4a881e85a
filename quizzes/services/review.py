"""What a member is shown of their attempts: one attempt as the phone shows it (their order, their saved answers,
the correct answers only once revealed) and their page of quizzes with results."""
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from quizzes import audience, definitions
from quizzes.audience import grace
from quizzes.bank import answer_text
from quizzes.models import TYPE_LABELS, Attempt, AttemptAnswer, Quiz, QuizResult
from quizzes.services.attempts import attempt_for
from quizzes.services.scoring import grade_left_open


def reveals_answers(quiz, now=None):
    """Whether members may now see the correct answers and explanations: the quiz reveals them and its results are
    final (no attempt can change any more)."""
    return quiz.reveal_answers and audience.results_final(quiz, now)


def my_quizzes(member, page, per_page):
    """One page of the member's quizzes with their results, newest first."""
    base = select(QuizResult, Quiz).join(Quiz, Quiz.id == QuizResult.quiz_id).where(QuizResult.member_id == member.id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    rows = db.session.execute(base.order_by(Quiz.week_key.desc(), Quiz.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    items = [{"quiz": quiz, "result": result, "attempt_id": result.attempt_id,
              "answers_revealed": reveals_answers(quiz)} for result, quiz in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def seconds_left(attempt, now=None):
    if attempt.status != "in_progress":
        return 0
    return max(0, int((attempt.deadline_at - (now or clock.now())).total_seconds()))


def attempt_view(member, attempt):
    """The attempt as its member sees it: their order, their saved answers; answers only once revealed."""
    quiz = definitions.get_definition(attempt.quiz_id)
    items = {item.question_id: item for item in quiz.items}
    revealed = attempt.status == "submitted" and reveals_answers(quiz)
    graded, withheld = {}, set()
    if revealed:
        graded = dict(db.session.execute(select(AttemptAnswer.question_id, AttemptAnswer.correct)
                                         .where(AttemptAnswer.attempt_id == attempt.id)).all())
        # A question asked again in a quiz the member may still take stays hidden in this review too.
        withheld = audience.answers_withheld(member)
    questions = []
    for entry in attempt.order:
        item = items[entry["q"]]
        question = item.question
        texts = {o["key"]: o["text"] for o in question.options}
        shown = {"id": question.id, "kind": question.kind, "kind_label": TYPE_LABELS[question.kind],
                 "stem": question.stem, "options": [{"key": k, "text": texts[k]} for k in entry["o"]],
                 "blanks": len(question.answer) if question.kind == "blank" else None, "points": item.points}
        if revealed and question.id in withheld:
            shown.update(answer=None, answer_text=None, explanation=None, correct=None)
        elif revealed:
            shown.update(answer=question.answer, answer_text=answer_text(question),
                         explanation=question.explanation, correct=graded.get(question.id))
        questions.append(shown)
    result = None
    if attempt.status == "submitted":
        result = {"score": attempt.score, "total_score": quiz.total_score, "passed": attempt.score >= quiz.pass_score,
                  "correct_count": attempt.correct_count, "question_count": len(quiz.items), "late": attempt.late,
                  "submitted_at": attempt.submitted_at}
    return {"id": attempt.id, "quiz_id": quiz.id, "number": attempt.number, "status": attempt.status,
            "started_at": attempt.started_at, "deadline_at": attempt.deadline_at,
            "seconds_left": seconds_left(attempt), "saved_at": attempt.saved_at, "answers": attempt.answers or {},
            "questions": questions, "result": result, "answers_revealed": revealed}


def show_attempt(member, attempt_id):
    """The member's own attempt (grading it first if its time ran out)."""
    attempt = attempt_for(member, attempt_id)
    now = clock.now()
    if attempt.status == "in_progress" and now > attempt.deadline_at + grace():
        grade_left_open(definitions.get_definition(attempt.quiz_id), now, Attempt.id == attempt.id)
        db.session.commit()
    return attempt_view(member, attempt)
