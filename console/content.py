"""内容: learning material (publish now, schedule for a later day, save a draft, publish a draft) and the question
bank (search, add one question of any type, edit, retire). The verbs are learning's and quizzes.bank's; the forms
become the bodies their schemas load (console.forms)."""
from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from console.desk import act, bp, console_login, day_cn, form_errors, me, page_arg
from console.forms import material_body, question_body
from core import clock
from core.errors import AppError, Forbidden
from core.extensions import db
from core.schemas import paginate
from learning.schemas import MaterialCreateSchema
from learning.services import create_material, manage_list, material_for_manager
from learning.services import publish_material as publish_draft
from members import scope
from members.models import Branch
from quizzes.audience import show_answers
from quizzes.bank import answer_text, can_edit, create_question, list_questions, question_for, update_question
from quizzes.bank import retire_question as retire
from quizzes.models import TYPE_LABELS
from quizzes.schemas import QuestionCreateSchema, QuestionUpdateSchema

# --- material ------------------------------------------------------------------------------------------

@bp.route("/materials", methods=["GET", "POST"])
@console_login
def materials():
    """List the material the member manages; publish or schedule a new item."""
    errors, form = {}, {}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            data = MaterialCreateSchema().load(material_body(form, me()))
            item = create_material(me(), data)
            state = "已保存为草稿" if not data["publish"] else (
                "已发布" if data["day"] <= clock.today() else f"已定时于 {day_cn(data['day'])} 发布")
            flash(f"《{item.title}》{state}。", "ok")
            return redirect(url_for("console.materials"))
        except (ValidationError, AppError) as exc:
            errors = form_errors(exc)
    page = paginate(manage_list(me(), {}), page_arg(), 20)
    branches = db.session.scalars(select(Branch).where(Branch.id.in_(scope.managed_branch_ids(me())))
                                  .order_by(Branch.name).limit(500)).all()
    return render_template("console/materials.html", page=page, errors=errors, form=form, branches=branches,
                           today=clock.today()), 422 if errors else 200


@bp.post("/materials/<int:material_id>/publish")
@console_login
def publish_material(material_id):
    """Publish a draft for its day."""
    material = material_for_manager(me(), material_id)
    act(lambda: publish_draft(me(), material), f"《{material.title}》已发布。")
    return redirect(url_for("console.materials"))


# --- question bank ------------------------------------------------------------------------------------

@bp.get("/questions")
@console_login
def questions():
    """Search the question bank in scope."""
    q = (request.args.get("q") or "").strip()[:50] or None
    page = paginate(list_questions(me(), q=q), page_arg(), 20)
    return render_template("console/questions.html", page=page, q=q or "")


@bp.route("/questions/new", methods=["GET", "POST"])
@console_login
def new_question():
    """Add one question of any type to the member's bank (the quizzes room's create_question)."""
    errors, form = {}, {"kind": request.args.get("kind", "single"), "difficulty": "2"}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            kind = form.get("kind", "")
            body = {**question_body(form, kind), "kind": kind}
            saved = create_question(me(), QuestionCreateSchema().load(body))
            flash(f"已添加{TYPE_LABELS[saved.kind]} #{saved.id}。", "ok")
            return redirect(url_for("console.question", question_id=saved.id))
        except (ValidationError, AppError) as exc:
            errors = form_errors(exc)
    return render_template("console/question_new.html", form=form, errors=errors,
                           kinds=TYPE_LABELS), 422 if errors else 200


@bp.route("/questions/<int:question_id>", methods=["GET", "POST"])
@console_login
def question(question_id):
    """Edit one question (a question already used in a quiz is kept and replaced by a new version)."""
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
            errors = form_errors(exc)
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
    retire(me(), question_for(me(), question_id, edit=True))
    flash("题目已停用。", "ok")
    return redirect(url_for("console.questions"))
