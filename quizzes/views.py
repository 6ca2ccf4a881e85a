"""HTTP endpoints of the weekly quiz: thin — parse, call one service, respond."""
from flask import current_app, g, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from core import tables
from core.errors import Conflict
from core.schemas import paginate
from members import scope
from members.auth import current_member, login_required, requester
from members.models import Branch, Member
from quizzes import audience, bank, services, stats
from quizzes.schemas import (
    AnswersSchema,
    AttemptDump,
    AttemptSchema,
    CurrentSchema,
    ImportResultSchema,
    ItemAnalysisSchema,
    MyQuizPageSchema,
    PendingArgs,
    PendingPageSchema,
    QuestionCreateSchema,
    QuestionListArgs,
    QuestionPageSchema,
    QuestionSchema,
    QuestionUpdateSchema,
    QuizCreateSchema,
    QuizDetailSchema,
    QuizListArgs,
    QuizPageSchema,
    QuizStatsSchema,
    QuizUpdateSchema,
    RevealedAttemptSchema,
    SavedSchema,
    StatsArgs,
    SubmitSchema,
    UploadSchema,
)
from quizzes.services import current, takers

bp = Blueprint("quizzes", __name__, url_prefix="/api/v1", description="每周一测：题库、测验、作答与统计")
MANAGERS = ("secretary", "admin")


XLSX_BODY = {"type": "string", "format": "binary"}


# Built once, not per request: a schema instance deep-copies its declared fields (0.7 ms for CurrentSchema, a tenth
# of a /quizzes/current miss), and dump keeps nothing between calls.
_CURRENT = CurrentSchema()
_REVEALED, _HIDDEN = AttemptDump(RevealedAttemptSchema()), AttemptDump(AttemptSchema())


def _attempt_response(view, status=200):
    # Two schemas per audience: before answers are revealed the member's schema has no answer fields at all.
    # The response is built here, so the documented (revealed) schema never re-dumps it.
    dumper = _REVEALED if view["answers_revealed"] else _HIDDEN
    response = jsonify(dumper.dump(view))
    response.status_code = status
    return response


def _shown(question):
    """A bank question with its answer marked readable or withheld for the caller (quizzes.audience)."""
    audience.show_answers(current_member(), [question])
    return question


def _quiz_shown(quiz):
    """A quiz with each question's answer marked readable or withheld for the caller (quizzes.audience)."""
    audience.show_answers(current_member(), [item.question for item in quiz.items])
    return quiz


# --- question bank ---------------------------------------------------------------------------------

@bp.route("/questions")
class Questions(MethodView):
    @login_required(*MANAGERS)
    @bp.arguments(QuestionListArgs, location="query")
    @bp.response(200, QuestionPageSchema)
    def get(self, args):
        """List bank questions the caller may see, filtered by type, tag, difficulty, status or text."""
        page, per_page = args.pop("page"), args.pop("per_page")
        listed = paginate(bank.list_questions(current_member(), **args), page, per_page)
        audience.show_answers(current_member(), listed["items"])
        return listed

    @login_required(*MANAGERS)
    @bp.arguments(QuestionCreateSchema)
    @bp.response(201, QuestionSchema)
    def post(self, body):
        """Add a question to a committee's bank (admins) or a branch's own bank."""
        return _shown(bank.create_question(current_member(), body))


@bp.get("/questions/template")
@login_required(*MANAGERS)
@tables.documented_download(bp, "xlsx")
def question_template():
    """Download the question import template (XLSX, Chinese headers, one example per type)."""
    return tables.download(tables.to_xlsx(list(bank.IMPORT_HEADERS), bank.template_rows(), "题库导入模板"),
                           "题库导入模板.xlsx", "xlsx")


@bp.route("/questions/<int:question_id>")
class QuestionResource(MethodView):
    @login_required(*MANAGERS)
    @bp.response(200, QuestionSchema)
    def get(self, question_id):
        """Show one bank question with its answer (withheld while it is in a quiz the caller may still take)."""
        return _shown(bank.question_for(current_member(), question_id))

    @login_required(*MANAGERS)
    @bp.arguments(QuestionUpdateSchema)
    @bp.response(200, QuestionSchema)
    def patch(self, body, question_id):
        """Edit a question; one already used in a quiz is retired and a new version is returned."""
        question = bank.question_for(current_member(), question_id, edit=True)
        return _shown(bank.update_question(current_member(), question, body))


@bp.post("/questions/<int:question_id>/retire")
@login_required(*MANAGERS)
@bp.response(200, QuestionSchema)
def retire_question(question_id):
    """Retire a question from the bank (past quizzes keep it)."""
    question = bank.question_for(current_member(), question_id, edit=True)
    return _shown(bank.retire_question(current_member(), question))


@bp.post("/committees/<int:committee_id>/questions/import")
@login_required("admin")
@bp.arguments(UploadSchema, location="files")
@bp.response(200, ImportResultSchema)
def import_committee_questions(files, committee_id):
    """Import questions (CSV/XLSX) into a committee's bank: every row or none."""
    committee = scope.committee_for(current_member(), committee_id)
    return bank.import_questions(current_member(), request.files.get("file"), committee)


@bp.post("/branches/<int:branch_id>/questions/import")
@login_required(*MANAGERS)
@bp.arguments(UploadSchema, location="files")
@bp.response(200, ImportResultSchema)
def import_branch_questions(files, branch_id):
    """Import questions (CSV/XLSX) into a branch's own bank: every row or none."""
    branch = scope.branch_for(current_member(), branch_id)
    return bank.import_questions(current_member(), request.files.get("file"), branch.committee, branch)


# --- quizzes, for their managers ---------------------------------------------------------------------

@bp.post("/committees/<int:committee_id>/quizzes")
@login_required("admin")
@bp.arguments(QuizCreateSchema)
@bp.response(201, QuizDetailSchema)
def create_committee_quiz(body, committee_id):
    """Create a week's quiz for a committee's subtree, by hand or assembled from the bank by rules."""
    return _quiz_shown(services.create_quiz(current_member(), body, committee_id=committee_id))


@bp.post("/branches/<int:branch_id>/quizzes")
@login_required(*MANAGERS)
@bp.arguments(QuizCreateSchema)
@bp.response(201, QuizDetailSchema)
def create_branch_quiz(body, branch_id):
    """Create a week's quiz for one branch, by hand or assembled from the bank by rules."""
    return _quiz_shown(services.create_quiz(current_member(), body, branch_id=branch_id))


@bp.get("/quizzes")
@login_required(*MANAGERS)
@bp.arguments(QuizListArgs, location="query")
@bp.response(200, QuizPageSchema)
def list_quizzes(args):
    """List the quizzes the caller manages or whose audience includes their branch."""
    return paginate(services.list_quizzes(current_member(), args.get("week_key")), args["page"], args["per_page"])


@bp.route("/quizzes/<int:quiz_id>")
class QuizResource(MethodView):
    @login_required(*MANAGERS)
    @bp.response(200, QuizDetailSchema)
    def get(self, quiz_id):
        """Show a quiz with its questions, and their answers unless the caller may still take it (quizzes.audience)."""
        return _quiz_shown(services.quiz_for_manager(current_member(), quiz_id))

    @login_required(*MANAGERS)
    @bp.arguments(QuizUpdateSchema)
    @bp.response(200, QuizDetailSchema)
    def patch(self, body, quiz_id):
        """Change a quiz's settings: any before it opens; once open only the title and the close (not to the past)."""
        quiz = services.quiz_for_manager(current_member(), quiz_id)
        return _quiz_shown(services.update_quiz(current_member(), quiz, body))

    @login_required(*MANAGERS)
    @bp.response(204)
    def delete(self, quiz_id):
        """Delete a quiz nobody has started."""
        services.delete_quiz(current_member(), services.quiz_for_manager(current_member(), quiz_id))


@bp.get("/quizzes/<int:quiz_id>/stats")
@login_required(*MANAGERS)
@bp.arguments(StatsArgs, location="query")
@bp.response(200, QuizStatsSchema)
def quiz_stats(args, quiz_id):
    """Participation, average and median score, pass rate: overall and per branch in the caller's scope."""
    quiz = services.quiz_for_manager(current_member(), quiz_id)
    branch_ids = _branch_ids(quiz, args.get("branch_id"))
    return {"quiz": quiz, "overall": stats.overall_stats(quiz, branch_ids),
            "branches": stats.branch_quiz_stats(quiz, branch_ids)}


@bp.get("/quizzes/<int:quiz_id>/pending")
@login_required(*MANAGERS)
@bp.arguments(PendingArgs, location="query")
@bp.response(200, PendingPageSchema)
def quiz_pending(args, quiz_id):
    """The members in the caller's scope who have not taken the quiz."""
    quiz = services.quiz_for_manager(current_member(), quiz_id)
    ids = stats.members_not_submitted(quiz).where(Member.branch_id.in_(_branch_ids(quiz, args.get("branch_id"))))
    stmt = select(Member).where(Member.id.in_(ids)).order_by(Member.branch_id, Member.name, Member.id)
    return paginate(stmt, args["page"], args["per_page"])


@bp.get("/quizzes/<int:quiz_id>/items")
@login_required(*MANAGERS)
@bp.response(200, ItemAnalysisSchema)
def quiz_items(quiz_id):
    """Item analysis after close: facility, discrimination, option choices, dubious questions."""
    quiz = services.quiz_for_manager(current_member(), quiz_id)
    if not audience.results_final(quiz):
        raise Conflict("测验结束且全部作答评分后才能查看试题分析", code="quiz_not_closed")
    return stats.item_analysis(quiz, audience.answers_withheld(current_member()))


@bp.get("/quizzes/<int:quiz_id>/export")
@login_required(*MANAGERS)
@tables.documented_download(bp, "xlsx")
@bp.arguments(StatsArgs, location="query")
@bp.response(200, XLSX_BODY, content_type=tables.XLSX_MIME, description="XLSX 成绩表")
def quiz_export(args, quiz_id):
    """Download the quiz's results in the caller's scope as XLSX with Chinese headers."""
    quiz = services.quiz_for_manager(current_member(), quiz_id)
    rows = stats.results_for_export(quiz, _branch_ids(quiz, args.get("branch_id")))
    body = tables.to_xlsx(stats.EXPORT_HEADERS, rows, title="测验成绩")
    return tables.download(body, f"{quiz.title}-成绩.xlsx", "xlsx")


def _branch_ids(quiz, branch_id):
    member = current_member()
    ids = services.scoped_branch_ids(member, quiz)
    if branch_id is not None:
        scope.branch_for(member, branch_id)
        ids = ids.where(Branch.id == branch_id)
    return ids


# --- members: the phone ------------------------------------------------------------------------------

@bp.get("/quizzes/current")
@login_required(prefetch=current.prefetch)
@bp.response(200, CurrentSchema)
def current_quiz():
    """This member's quiz for this week and their state in it."""
    shown = current.current_json(g.member_id, g.member_data["role"], g.member_data["branch_id"], current_member,
                                 lambda state: _CURRENT.dump(_state_shown(state)))
    return current_app.response_class(shown, mimetype="application/json")


@bp.get("/me/quizzes/<int:quiz_id>")
@login_required()
@bp.response(200, CurrentSchema)
def my_quiz(quiz_id):
    """This member's state in one quiz of theirs, as /quizzes/current shows the week's (a push links to it);
    404 if not theirs to see, 403 if they are not in its audience."""
    return _state_shown(services.current_state(current_member(), quiz_id))


def _state_shown(state):
    if state["attempt"] is not None:
        state["attempt"] = {"id": state["attempt"].id, "deadline_at": state["attempt"].deadline_at,
                            "seconds_left": services.seconds_left(state["attempt"])}
    return state


@bp.post("/quizzes/<int:quiz_id>/attempts")
@login_required(prefetch=takers.prefetch)
@bp.response(201, RevealedAttemptSchema, description="开始新的作答")
@bp.alt_response(200, schema=RevealedAttemptSchema, description="继续进行中的作答（断线重连）")
def start_attempt(quiz_id):
    """Start an attempt (201), or resume the one in progress (200): shuffled questions and options, no answers."""
    member = requester()
    attempt, started = services.start_attempt(member, quiz_id)
    return _attempt_response(services.attempt_view(member, attempt), 201 if started else 200)


@bp.get("/attempts/<int:attempt_id>")
@login_required()
@bp.response(200, RevealedAttemptSchema)
def show_attempt(attempt_id):
    """Show one's own attempt: saved answers and time left; after close, answers and explanations if revealed."""
    return _attempt_response(services.show_attempt(current_member(), attempt_id))


@bp.put("/attempts/<int:attempt_id>/answers")
@login_required(prefetch=takers.prefetch)
@bp.arguments(AnswersSchema)
@bp.response(200, SavedSchema)
def save_answers(body, attempt_id):
    """Autosave answers (merged into what was saved before)."""
    attempt = services.save_answers(requester(), attempt_id, body["answers"])
    return {"id": attempt.id, "saved_at": attempt.saved_at, "deadline_at": attempt.deadline_at,
            "seconds_left": services.seconds_left(attempt), "answered": len(attempt.answers)}


@bp.post("/attempts/<int:attempt_id>/submit")
@login_required(prefetch=takers.prefetch)
@bp.arguments(SubmitSchema)
@bp.response(200, RevealedAttemptSchema)
def submit_attempt(body, attempt_id):
    """Submit for grading; a repeated submit returns the same result."""
    member = requester()
    attempt = services.submit_attempt(member, attempt_id, body.get("answers"))
    return _attempt_response(services.attempt_view(member, attempt))


@bp.get("/me/quizzes")
@login_required()
@bp.arguments(QuizListArgs, location="query")
@bp.response(200, MyQuizPageSchema)
def my_quizzes(args):
    """The member's past quizzes and results, newest first."""
    return services.my_quizzes(current_member(), args["page"], args["per_page"])

