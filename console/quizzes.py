"""测验 at the desk: create this or a coming week's quiz by rules (with a preview of the draw and any shortage) or
by picking questions; edit what the phase allows; delete one nobody started; participation live.

Every verb is the quizzes room's (create_quiz, update_quiz, delete_quiz, assemble); the forms become the bodies its
schemas load. Answers are never shown here: the preview lists stems, kinds and difficulty only.
"""
import math
from datetime import timedelta

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError

from console.desk import bp, console_login, form_errors, me, page_arg
from core import clock
from core.errors import AppError, Forbidden, Invalid
from core.extensions import db
from core.schemas import paginate
from members import scope
from quizzes.audience import answers_withheld, results_final
from quizzes.bank import list_questions, owner_bank_clause
from quizzes.models import TYPE_LABELS
from quizzes.schemas import QuizCreateSchema, QuizUpdateSchema, RuleSchema
from quizzes.services import create_quiz, delete_quiz, list_quizzes, quiz_for_manager, scoped_branch_ids, update_quiz
from quizzes.services.authoring import WEEK_RE, assemble
from quizzes.services.visibility import can_edit_quiz
from quizzes.stats import branch_quiz_stats, item_analysis, overall_stats

RULE_ROWS = 4
WEEKS_AHEAD = 6
DIFFICULTIES = {"1": "易", "2": "中", "3": "难"}
SETTINGS = ("time_limit_minutes", "max_attempts", "points_per_question", "pass_percent")


@bp.get("/quizzes")
@console_login
def quizzes():
    """The quizzes in scope, newest week first."""
    page = paginate(list_quizzes(me()), page_arg(), 20)
    return render_template("console/quizzes.html", page=page, now=clock.now())


@bp.get("/quizzes/<int:quiz_id>")
@console_login
def quiz(quiz_id):
    """A quiz's figures in scope and, once its results are final, its item analysis (keys as quizzes.audience says)."""
    quiz = quiz_for_manager(me(), quiz_id)
    ids = scoped_branch_ids(me(), quiz)
    analysis = item_analysis(quiz, answers_withheld(me())) if results_final(quiz) else None
    return render_template("console/quiz.html", quiz=quiz, overall=overall_stats(quiz, ids),
                           branches=branch_quiz_stats(quiz, ids), analysis=analysis, editable=can_edit_quiz(me(), quiz))


# --- creating and editing ------------------------------------------------------------------------------

def _weeks():
    today = clock.today()
    return [clock.week_key(today + timedelta(weeks=i)) for i in range(WEEKS_AHEAD)]


def _rules(form):
    rules = []
    for i in range(RULE_ROWS):
        count = (form.get(f"count_{i}") or "").strip()
        if not count:
            continue
        rule = {"count": count}
        for name in ("kind", "tag", "difficulty"):
            value = (form.get(f"{name}_{i}") or "").strip()
            if value:
                rule[name] = value
        rules.append(rule)
    return rules


def quiz_body(form, phase=None):
    """A QuizCreateSchema/QuizUpdateSchema body from the quiz form; an open quiz sends only what may change."""
    body = {"title": form["title"].strip()} if (form.get("title") or "").strip() else {}
    if form.get("closes_at"):
        body["closes_at"] = _aware(form["closes_at"])
    if phase == "open":
        return body
    if form.get("opens_at"):
        body["opens_at"] = _aware(form["opens_at"])
    if form.get("week_key"):
        body["week_key"] = form["week_key"]
    for name in SETTINGS:
        if (form.get(name) or "").strip():
            body[name] = form[name].strip()
    body["reveal_answers"] = form.get("reveal_answers") == "1"
    if phase is None:  # creating: by rules or by picked questions
        if form.get("mode") == "pick":
            body["question_ids"] = [i for i in form.getlist("question_ids") if i.isdigit()]
        elif _rules(form):
            body["rules"] = _rules(form)
    return body


def _aware(local):
    # <input type=datetime-local> gives Beijing wall time without an offset.
    return f"{local}:00+08:00" if len(local) == 16 else local


def preview(body):
    """The questions rules would draw this week for the desk user's bank, or the shortage per rule."""
    committee, branch = scope.owner_for(me())
    rules = RuleSchema(many=True).load(body.get("rules") or [])
    if not rules:
        raise Invalid.field("请至少填写一条组卷规则（数量）", "rules", "至少一条")
    week = body.get("week_key") or clock.week_key()
    try:
        monday = clock.monday_of_week_key(week) if WEEK_RE.match(week) else None
    except ValueError:
        monday = None
    if monday is None:
        raise Invalid.field("周次不存在", "week_key", "格式应为 2026-W48")
    try:
        questions = assemble(committee, owner_bank_clause(committee, branch), rules, monday,
                             current_app.config["QUIZ_AVOID_WEEKS"])
    except Invalid as exc:
        if exc.code != "bank_too_small":
            raise
        return {"questions": [], "shortages": [{**s, "rule": rules[s["rule"]]} for s in exc.details["shortages"]]}
    return {"questions": questions, "shortages": []}


def _bank_questions(q):
    return db.session.scalars(list_questions(me(), q=q).limit(100)).all()


@bp.route("/quizzes/new", methods=["GET", "POST"])
@console_login
def quiz_new():
    """Create a quiz by rules (with a preview) or by picking questions."""
    form = request.form if request.method == "POST" else {"mode": request.args.get("mode", "rules"),
                                                           "week_key": clock.week_key(), "reveal_answers": "1"}
    errors, drawn = {}, None
    if request.method == "POST":
        try:
            body = quiz_body(form)
            if form.get("action") == "preview":
                drawn = preview(body)
            else:
                quiz = create_quiz(me(), QuizCreateSchema().load(body))
                flash(f"已创建测验“{quiz.title}”（{quiz.week_key}，{len(quiz.items)} 题）。", "ok")
                return redirect(url_for("console.quiz", quiz_id=quiz.id))
        except (ValidationError, AppError) as exc:
            errors = form_errors(exc)
            if isinstance(exc, AppError) and exc.code == "bank_too_small":
                drawn = {"questions": [], "shortages": exc.details["shortages"]}
    q = (request.values.get("q") or "").strip()[:50] or None
    return render_template("console/quiz_new.html", form=form, errors=errors, drawn=drawn, weeks=_weeks(),
                           kinds=TYPE_LABELS, difficulties=DIFFICULTIES, rows=range(RULE_ROWS),
                           bank=_bank_questions(q) if form.get("mode") == "pick" else [], q=q or "",
                           picked=set(form.getlist("question_ids")) if hasattr(form, "getlist") else set()), \
        422 if errors else 200


@bp.route("/quizzes/<int:quiz_id>/edit", methods=["GET", "POST"])
@console_login
def quiz_edit(quiz_id):
    """Edit a quiz's settings: any before it opens; once open its title and close; nothing once closed."""
    quiz = quiz_for_manager(me(), quiz_id)
    if not can_edit_quiz(me(), quiz):
        raise Forbidden("只能修改本支部或本党委的测验")
    phase = quiz.phase()
    errors = {}
    if request.method == "POST":
        form = request.form
        try:
            update_quiz(me(), quiz, QuizUpdateSchema().load(quiz_body(form, phase)))
            flash("测验设置已保存。", "ok")
            return redirect(url_for("console.quiz", quiz_id=quiz.id))
        except (ValidationError, AppError) as exc:
            errors = form_errors(exc)
    else:
        local = "%Y-%m-%dT%H:%M"
        form = {"title": quiz.title, "week_key": quiz.week_key,
                "opens_at": clock.to_local(quiz.opens_at).strftime(local),
                "closes_at": clock.to_local(quiz.closes_at).strftime(local),
                "time_limit_minutes": quiz.time_limit_minutes, "max_attempts": quiz.max_attempts,
                "points_per_question": quiz.items[0].points if quiz.items else 10,
                "pass_percent": shown_pass_percent(quiz),
                "reveal_answers": "1" if quiz.reveal_answers else ""}
    weeks = sorted(set(_weeks()) | {quiz.week_key})
    return render_template("console/quiz_edit.html", quiz=quiz, phase=phase, form=form, errors=errors,
                           weeks=weeks), 422 if errors else 200


def shown_pass_percent(quiz):
    """The pass mark as the secretary set it: the round percent that gives the quiz's pass score (60, not 59)."""
    total = quiz.total_score or 1
    candidates = [round(quiz.pass_score * 100 / total), *range(101)]
    return next((p for p in candidates if math.ceil(total * p / 100) == quiz.pass_score), 60)


@bp.post("/quizzes/<int:quiz_id>/delete")
@console_login
def quiz_delete(quiz_id):
    """Delete a quiz nobody has started."""
    quiz = quiz_for_manager(me(), quiz_id)
    title = quiz.title
    try:
        delete_quiz(me(), quiz)
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("console.quiz", quiz_id=quiz_id))
    flash(f"已删除测验“{title}”。", "ok")
    return redirect(url_for("console.quizzes"))


@bp.get("/quizzes/<int:quiz_id>/live")
@console_login
def quiz_live(quiz_id):
    """The quiz's participation in the viewer's scope now (the quiz page asks every few seconds)."""
    quiz = quiz_for_manager(me(), quiz_id)
    row = overall_stats(quiz, scoped_branch_ids(me(), quiz))
    rate = row["participation_rate"]
    return jsonify(submitted=row["submitted"], audience=row["audience"],
                   participation="—" if rate is None else f"{rate * 100:.0f}%")
