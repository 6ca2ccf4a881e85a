"""The console's pages: thin — check the session and scope, call the rooms' services, render a template."""
import functools
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from console import charts, csrf, services, stats
from console.forms import material_body, question_body
from core import clock
from core.errors import AppError, Forbidden, Invalid
from core.extensions import db, limiter
from core.schemas import paginate
from members import scope
from members.models import ROLE_LABELS, Branch, Committee

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")

REMINDER_KINDS = {"reading": "学习", "quiz": "测验", "quota": "1+4+1"}
IMPORT_KINDS = {"roster": "党员名册", "questions": "题库", "plans": "学习计划"}


# --- session, CSRF and errors ------------------------------------------------------------------------

@bp.before_request
def _load_session():
    if request.method == "POST":
        csrf.protect()
    g.console_member = g.console_account = None
    session_id = session.get("console_sid")
    if session_id is not None:
        found = services.session_member(session_id)  # ended, expired or no longer a desk user: no session
        if found is None:
            session.clear()
        else:
            g.console_member, g.console_account = found
            g.console_sid = session_id


def console_login(view):
    """Require a console session; else send the browser to the login page."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.console_member is None:
            return redirect(url_for("console.login", next=request.full_path if request.method == "GET" else None))
        if g.console_account.must_change_password and request.endpoint != "console.password":
            return redirect(url_for("console.password"))  # a temporary password is used once, to set one's own
        return view(*args, **kwargs)

    return wrapper


def me():
    return g.console_member


@bp.app_context_processor
def _globals():
    return {"role_labels": ROLE_LABELS, "pct": _pct, "day_cn": _day_cn, "time_cn": _time_cn}


@bp.after_request
def _headers(response):
    # Pages show names and phone numbers: never cache them, never frame them.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                                   "script-src 'self'; form-action 'self'; frame-ancestors 'none'")
    return response


@bp.errorhandler(AppError)
def _app_error(exc):
    db.session.rollback()
    return render_template("console/error.html", status=exc.status, message=exc.message), exc.status


@bp.errorhandler(CSRFError)
def _csrf_error(exc):
    return render_template("console/error.html", status=400, message="页面已过期，请刷新后重试"), 400


@bp.errorhandler(HTTPException)
def _http_error(exc):
    from core.errors import HTTP_MESSAGES

    status = exc.code or 500
    return render_template("console/error.html", status=status,
                           message=HTTP_MESSAGES.get(status, (None, "请求失败"))[1]), status


def _pct(value):
    return "—" if value is None else f"{float(value) * 100:.0f}%"


def _day_cn(day):
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def _time_cn(moment):
    return clock.format_cn(moment) if moment else ""


def _form_errors(exc):
    """A form's field errors from a failed load (ValidationError) or a refused service call (AppError, rolled back)."""
    if isinstance(exc, ValidationError):
        return exc.normalized_messages()
    db.session.rollback()
    return exc.details.get("fields") or {"_": [exc.message]}


def _back(default):
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/console/") else default)


# --- login -----------------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CONSOLE_LOGIN_RATE"],
               key_func=lambda: f"console-login:{request.remote_addr}", methods=["POST"])
def login():
    """Show the login form; check a username and password."""
    error = None
    if request.method == "POST":
        try:
            member, _ = services.authenticate(request.form.get("username", ""), request.form.get("password", ""),
                                              request.remote_addr or "-")
        except AppError as exc:
            error = exc.message
            return render_template("console/login.html", error=error,
                                   username=request.form.get("username", "")), exc.status
        session.clear()  # a fresh session (and CSRF token) at every login: no fixation
        session.permanent = True
        current_app.permanent_session_lifetime = timedelta(hours=current_app.config["CONSOLE_SESSION_HOURS"])
        session["console_sid"] = services.open_session(member)
        target = request.args.get("next") or ""
        return redirect(target if target.startswith("/console/") else url_for("console.overview"))
    return render_template("console/login.html", error=error, username="")


@bp.post("/logout")
def logout():
    """End the console session."""
    if g.console_member is not None:
        services.logout(g.console_member, g.console_sid)
    session.clear()
    flash("已安全退出。", "ok")
    return redirect(url_for("console.login"))


# --- overview and branch pages -----------------------------------------------------------------------

def _charts(series):
    # The last week is still running: saying 本周 keeps a half-week figure from reading as a fall.
    labels = [charts.week_label(w) for w in series["weeks"][:-1]] + ["本周"]
    return {
        "reading": charts.bar_chart(labels, series["reading"], "近 12 周学习完成率"),
        "quiz": charts.line_chart(labels, [("参与率", series["participation"]), ("合格率", series["pass_rate"])],
                                  "近 12 周测验参与率与合格率"),
    }


@bp.get("/")
@console_login
def overview():
    """This week's figures and the last 12 weeks for the member's scope; for an admin, the branches ranked."""
    member = me()
    if member.role == "secretary":
        return redirect(url_for("console.branch_page", branch_id=member.branch_id))
    data = stats.overview(member)
    committee = db.session.get(Committee, member.committee_id)
    sort = request.args.get("sort", "reading")
    if sort not in stats.RANKING_SORTS:
        sort = "reading"
    ranking = stats.branch_ranking(member, sort, _page(), current_app.config["CONSOLE_RANKING_PER_PAGE"])
    return render_template("console/overview.html", data=data, charts=_charts(data["series"]), ranking=ranking,
                           sorts=stats.RANKING_SORTS, title=committee.name, branch=None)


@bp.get("/branches/<int:branch_id>")
@console_login
def branch_page(branch_id):
    """One branch: this week's figures, the 12-week charts and what needs doing."""
    branch = scope.branch_for(me(), branch_id)
    data = stats.overview(me(), branch)
    pending = _pending_books_count(branch)
    return render_template("console/overview.html", data=data, charts=_charts(data["series"]), ranking=None,
                           title=branch.name, branch=branch, pending_books=pending)


@bp.get("/branches/<int:branch_id>/reading/export")
@console_login
def reading_export(branch_id):
    """Download this week's reading completion as CSV or XLSX (learning's export, the figures of the card)."""
    from learning.services import export_reading

    branch = scope.branch_for(me(), branch_id)
    kind = request.args.get("kind", "xlsx")
    if kind not in ("csv", "xlsx"):
        raise Invalid("导出格式应为 csv 或 xlsx")
    start, end = stats.week_days(clock.week_key())
    return export_reading(branch, start, end, kind)


def _pending_books_count(branch):
    from sqlalchemy import func

    from quotas.services import branch_books

    return db.session.scalar(select(func.count()).select_from(branch_books(branch, status="pending").subquery()))


@bp.get("/branches/<int:branch_id>/behind")
@console_login
def behind(branch_id):
    """Who is behind this week, with a 一键提醒 per kind, and the reminders already sent."""
    branch = scope.branch_for(me(), branch_id)
    return render_template("console/behind.html", branch=branch, behind=stats.behind(branch, REMINDER_KINDS),
                           kinds=REMINDER_KINDS, reminders=stats.recent_reminders(branch))


@bp.post("/branches/<int:branch_id>/remind")
@console_login
def remind(branch_id):
    """Remind the members behind on one kind (the notifications room's 一键提醒)."""
    from notifications.services import remind_branch

    branch = scope.branch_for(me(), branch_id)
    kind = request.form.get("kind")
    if kind not in REMINDER_KINDS:
        raise Invalid("未知的提醒类型")
    result = remind_branch(me(), branch, kind)
    label = REMINDER_KINDS[kind]
    if result["behind"] == 0:
        flash(f"{label}：没有需要提醒的党员。", "ok")
    else:
        extra = f"，{result['already_reminded']} 人今天已提醒过" if result["already_reminded"] else ""
        flash(f"{label}：已向 {result['reminded']} 人发送提醒{extra}。", "ok")
    return redirect(url_for("console.behind", branch_id=branch.id))


# --- books -----------------------------------------------------------------------------------------

@bp.get("/branches/<int:branch_id>/books")
@console_login
def books(branch_id):
    """The branch's book reports waiting for approval, and the latest reviewed."""
    from quotas.models import BookReport
    from quotas.services import branch_books

    branch = scope.branch_for(me(), branch_id)
    pending = db.session.scalars(branch_books(branch, status="pending")).all()
    reviewed = db.session.scalars(branch_books(branch).where(BookReport.status != "pending").order_by(None)
                                  .order_by(BookReport.reviewed_at.desc(), BookReport.id.desc()).limit(10)).all()
    return render_template("console/books.html", branch=branch, pending=pending, reviewed=reviewed)


@bp.post("/books/<int:report_id>/review")
@console_login
def review_book(report_id):
    """Approve or reject a book report (the quotas room's review)."""
    from quotas.services import book_for
    from quotas.services import review_book as review

    report = book_for(me(), report_id, manage=True)
    branch_id = report.member.branch_id
    approve = request.form.get("decision") == "approve"
    reason = (request.form.get("reason") or "").strip() or None
    try:
        review(me(), report, approve, reason)
        flash(f"已{'通过' if approve else '退回'}《{report.title}》。", "ok")
    except AppError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("console.books", branch_id=branch_id))


# --- 1+4+1 tally ---------------------------------------------------------------------------------------

def _year_arg():
    try:
        year = int(request.args.get("year", clock.today().year))
    except ValueError:
        raise Invalid("年份格式不正确")
    if not 2000 <= year <= clock.today().year + 1:
        raise Invalid("年份超出范围")
    return year


@bp.get("/branches/<int:branch_id>/tally")
@console_login
def tally(branch_id):
    """The branch's 1+4+1 tally for a year, its exports and monthly postings."""
    from quotas.services import list_postings
    from quotas.stats import branch_tally

    branch = scope.branch_for(me(), branch_id)
    year = _year_arg()
    postings = db.session.scalars(list_postings(branch, year).limit(12)).all()
    return render_template("console/tally.html", branch=branch, year=year, tally=branch_tally(branch.id, year),
                           postings=postings)


@bp.get("/branches/<int:branch_id>/tally/postings/<int:posting_id>")
@console_login
def tally_posting(branch_id, posting_id):
    """A past monthly posting's table, exactly as it was posted (frozen)."""
    from quotas.services import posting_for

    branch = scope.branch_for(me(), branch_id)
    return render_template("console/posting.html", branch=branch, posting=posting_for(branch, posting_id))


@bp.get("/branches/<int:branch_id>/tally/export")
@console_login
def tally_export(branch_id):
    """Download the tally as CSV or XLSX."""
    from quotas.services import export_board

    branch = scope.branch_for(me(), branch_id)
    kind = request.args.get("kind", "xlsx")
    if kind not in ("csv", "xlsx"):
        raise Invalid("导出格式应为 csv 或 xlsx")
    return export_board(branch, _year_arg(), kind)


@bp.post("/branches/<int:branch_id>/tally/post")
@console_login
def tally_post(branch_id):
    """Post (公示) this month's tally."""
    from quotas.services import post_tally

    branch = scope.branch_for(me(), branch_id)
    posting, created = post_tally(branch, me())
    flash(f"已公示 {posting.period} 的完成情况。" if created else f"{posting.period} 已公示过，无需重复。", "ok")
    return redirect(url_for("console.tally", branch_id=branch.id))


# --- quizzes -----------------------------------------------------------------------------------------

@bp.get("/quizzes")
@console_login
def quizzes():
    """The quizzes in scope, newest week first."""
    from quizzes.services import list_quizzes

    page = paginate(list_quizzes(me()), _page(), 20)
    return render_template("console/quizzes.html", page=page, now=clock.now())


def _page():
    try:
        return max(1, min(int(request.args.get("page", 1)), 100000))
    except ValueError:
        return 1


@bp.get("/quizzes/<int:quiz_id>")
@console_login
def quiz(quiz_id):
    """A quiz's figures in scope and, once its results are final, its item analysis (keys as quizzes.audience says)."""
    from quizzes.audience import answers_withheld, results_final
    from quizzes.services import can_edit_quiz, quiz_for_manager, scoped_branch_ids
    from quizzes.stats import branch_quiz_stats, item_analysis, overall_stats

    quiz = quiz_for_manager(me(), quiz_id)
    ids = scoped_branch_ids(me(), quiz)
    analysis = item_analysis(quiz, answers_withheld(me())) if results_final(quiz) else None
    return render_template("console/quiz.html", quiz=quiz, overall=overall_stats(quiz, ids),
                           branches=branch_quiz_stats(quiz, ids), analysis=analysis, editable=can_edit_quiz(me(), quiz))


# --- content: material ---------------------------------------------------------------------------------

@bp.route("/materials", methods=["GET", "POST"])
@console_login
def materials():
    """List the material the member manages; publish or schedule a new item."""
    from learning.schemas import MaterialCreateSchema
    from learning.services import create_material, manage_list

    errors, form = {}, {}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            data = MaterialCreateSchema().load(material_body(form, me()))
            item = create_material(me(), data)
            state = "已保存为草稿" if not data["publish"] else (
                "已发布" if data["day"] <= clock.today() else f"已定时于 {_day_cn(data['day'])} 发布")
            flash(f"《{item.title}》{state}。", "ok")
            return redirect(url_for("console.materials"))
        except (ValidationError, AppError) as exc:
            errors = _form_errors(exc)
    page = paginate(manage_list(me(), {}), _page(), 20)
    branches = db.session.scalars(select(Branch).where(Branch.id.in_(scope.managed_branch_ids(me())))
                                  .order_by(Branch.name).limit(500)).all()
    return render_template("console/materials.html", page=page, errors=errors, form=form, branches=branches,
                           today=clock.today()), 422 if errors else 200


@bp.post("/materials/<int:material_id>/publish")
@console_login
def publish_material(material_id):
    """Publish a draft for its day."""
    from learning.services import material_for_manager
    from learning.services import publish_material as publish

    material = material_for_manager(me(), material_id)
    try:
        publish(me(), material)
        flash(f"《{material.title}》已发布。", "ok")
    except AppError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("console.materials"))


# --- content: question bank ------------------------------------------------------------------------------

@bp.get("/questions")
@console_login
def questions():
    """Search the question bank in scope."""
    from quizzes.bank import list_questions

    q = (request.args.get("q") or "").strip()[:50] or None
    page = paginate(list_questions(me(), q=q), _page(), 20)
    return render_template("console/questions.html", page=page, q=q or "")


QUESTION_KINDS = {"single": "单选题", "multiple": "多选题", "judge": "判断题", "blank": "填空题"}


@bp.route("/questions/new", methods=["GET", "POST"])
@console_login
def new_question():
    """Add one question of any type to the member's bank (the quizzes room's create_question)."""
    from quizzes.bank import create_question
    from quizzes.schemas import QuestionCreateSchema

    errors, form = {}, {"kind": request.args.get("kind", "single"), "difficulty": "2"}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            kind = form.get("kind", "")
            body = {**question_body(form, kind), "kind": kind}
            saved = create_question(me(), QuestionCreateSchema().load(body))
            flash(f"已添加{QUESTION_KINDS[saved.kind]} #{saved.id}。", "ok")
            return redirect(url_for("console.question", question_id=saved.id))
        except (ValidationError, AppError) as exc:
            errors = _form_errors(exc)
    return render_template("console/question_new.html", form=form, errors=errors,
                           kinds=QUESTION_KINDS), 422 if errors else 200


@bp.route("/questions/<int:question_id>", methods=["GET", "POST"])
@console_login
def question(question_id):
    """Edit one question (a question already used in a quiz is kept and replaced by a new version)."""
    from quizzes.audience import show_answers
    from quizzes.bank import answer_text, can_edit, question_for, update_question
    from quizzes.schemas import QuestionUpdateSchema

    item = question_for(me(), question_id)
    # While the question is in a quiz this reader may still take, its answer is neither shown nor editable.
    withheld = show_answers(me(), [item])[0].answers_withheld
    errors, form = {}, None
    if request.method == "POST":
        question_for(me(), question_id, edit=True)
        if withheld:
            raise Forbidden("这道题在你尚可参加、还未结束的测验中，测验结束前不能查看或修改")
        form = request.form.to_dict()
        try:
            saved = update_question(me(), item, QuestionUpdateSchema().load(question_body(form, item.kind)))
            flash("题目已保存。" if saved.id == item.id else "该题已用于测验，已保存为新版本，原题停用。", "ok")
            return redirect(url_for("console.question", question_id=saved.id))
        except (ValidationError, AppError) as exc:
            errors = _form_errors(exc)
    if form is None:
        form = {"stem": item.stem, "options": "\n".join(o["text"] for o in item.options) if item.kind != "judge"
                else "", "answer": "" if withheld else answer_text(item),
                "explanation": "" if withheld else item.explanation,
                "tags": " ".join(item.tag_list), "difficulty": str(item.difficulty), "source": item.source}
    return render_template("console/question.html", item=item, form=form, errors=errors, withheld=withheld,
                           editable=can_edit(me(), item) and not withheld), 422 if errors else 200


@bp.post("/questions/<int:question_id>/retire")
@console_login
def retire_question(question_id):
    """Take a question out of the bank."""
    from quizzes.bank import question_for
    from quizzes.bank import retire_question as retire

    retire(me(), question_for(me(), question_id, edit=True))
    flash("题目已停用。", "ok")
    return redirect(url_for("console.questions"))


# --- imports -------------------------------------------------------------------------------------------

@bp.route("/imports/<kind>", methods=["GET", "POST"])
@console_login
def imports(kind):
    """Import a roster, a question file or a material plan; a bad file shows every bad row."""
    if kind not in IMPORT_KINDS:
        abort(404)
    result, rejected, message = None, None, None
    status = 200
    if request.method == "POST":
        try:
            result = _run_import(kind, request.files.get("file"), request.form)
        except Invalid as exc:
            db.session.rollback()
            rejected = exc.details.get("errors")
            message = exc.message
            status = 422
    return render_template("console/imports.html", kind=kind, kinds=IMPORT_KINDS, result=result,
                           rejected=rejected, message=message), status


def _run_import(kind, file, form):
    member = me()
    if kind == "roster":
        from members.services import import_roster

        if member.role == "admin":
            return import_roster(member, file, db.session.get(Committee, member.committee_id))
        branch = scope.branch_for(member, member.branch_id)
        return import_roster(member, file, branch.committee, branch)
    if kind == "questions":
        from quizzes.bank import import_questions, resolve_owner

        committee, branch = resolve_owner(member)
        return import_questions(member, file, committee, branch)
    from learning.services import import_plan_file

    args = {"publish": form.get("publish") == "1"}
    if member.role == "secretary":
        args["branch_id"] = member.branch_id
    return import_plan_file(member, file, args)
