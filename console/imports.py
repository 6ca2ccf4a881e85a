"""导入: upload a roster, a question file or a material plan (CSV/XLSX); a bad file writes nothing and every bad row
is listed. The imports are the members room's, quizzes.bank's and learning's."""
from flask import abort, render_template, request

from console.desk import bp, console_login, me
from core.errors import Invalid
from core.extensions import db
from learning.services import import_plan_file
from members import scope
from members.services import import_roster
from quizzes.bank import import_questions

IMPORT_KINDS = {"roster": "党员名册", "questions": "题库", "plans": "学习计划"}


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
    committee, branch = scope.owner_for(member)
    if kind == "roster":
        return import_roster(member, file, committee, branch)
    if kind == "questions":
        return import_questions(member, file, committee, branch)
    args = {"publish": form.get("publish") == "1"}
    if branch is not None:
        args["branch_id"] = branch.id
    return import_plan_file(member, file, args)
