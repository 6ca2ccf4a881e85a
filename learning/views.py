"""HTTP endpoints of 每日学习: thin — parse, call one service, respond."""
from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from core import clock, tables
from core.schemas import PageArgs, paginate
from learning import leaderboards, points, services, stats
from learning.schemas import (
    ArchiveArgs,
    BranchReadingSchema,
    CommitteeReadingArgs,
    CommitteeReadingSchema,
    FinishResultSchema,
    FinishSchema,
    LeaderboardArgs,
    LeaderboardSchema,
    ManageListArgs,
    MaterialCreateSchema,
    MaterialDetailSchema,
    MaterialManagePageSchema,
    MaterialManageSchema,
    MaterialPageSchema,
    MaterialUpdateSchema,
    MyPointsSchema,
    MyReadingSchema,
    PlanImportArgs,
    PlanImportResultSchema,
    PlanSchema,
    PlanUploadSchema,
    PointEntryPageSchema,
    ReadingExportArgs,
    ReadingHistoryArgs,
    ReadingPeriodArgs,
    ReadingStateSchema,
    TodaySchema,
    WithdrawSchema,
)
from learning.services import branch_today, opened, today
from members import scope
from members.auth import current_member, login_required, requester

bp = Blueprint("learning", __name__, url_prefix="/api/v1", description="每日学习、学习积分与排行")


# --- members ---------------------------------------------------------------------------------------

_TODAY = TodaySchema()  # built once: an instance deep-copies its fields, and dump keeps nothing between calls


@bp.get("/materials/today")
@login_required(prefetch=today.prefetch)
@bp.response(200, TodaySchema)
def materials_today():
    """List what the member should study today, with their own state per item, progress and streak."""
    shown = today.today_json(g.member_id, g.member_data["branch_id"], current_member, _TODAY.dump)
    return current_app.response_class(shown, mimetype="application/json")


@bp.route("/materials")
class Materials(MethodView):
    @login_required()
    @bp.arguments(ArchiveArgs, location="query")
    @bp.response(200, MaterialPageSchema)
    def get(self, args):
        """Browse the member's archive: date range, search by title or tag, newest first."""
        page = paginate(services.archive(current_member(), args), args["page"], args["per_page"])
        services.decorate(current_member(), page["items"])
        return page

    @login_required("secretary", "admin")
    @bp.arguments(MaterialCreateSchema)
    @bp.response(201, MaterialManageSchema)
    def post(self, body):
        """Create a study item as a draft, or publish it for its day (secretary: own branch; admin: subtree)."""
        return services.create_material(current_member(), body)


@bp.route("/materials/<int:material_id>")
class MaterialResource(MethodView):
    @login_required()
    @bp.response(200, MaterialDetailSchema)
    def get(self, material_id):
        """Show one item with its sanitized body and the member's state."""
        material = services.material_for_member(current_member(), material_id)
        if services.can_manage(current_member(), material):
            # A manager sees the manage fields too: a ready response, so smorest does not dump it again as Detail.
            return current_app.json.response(
                MaterialManageSchema().dump(services.decorate_manage([material], current_member())[0]))
        return services.decorate(current_member(), [material])[0]

    @login_required("secretary", "admin")
    @bp.arguments(MaterialUpdateSchema)
    @bp.response(200, MaterialManageSchema)
    def patch(self, body, material_id):
        """Edit a draft, or a published item before its day."""
        material = services.material_for_manager(current_member(), material_id)
        return services.update_material(current_member(), material, body)


@bp.post("/materials/<int:material_id>/publish")
@login_required("secretary", "admin")
@bp.response(200, MaterialManageSchema)
def publish_material(material_id):
    """Publish a draft for its day (a future day schedules it)."""
    material = services.material_for_manager(current_member(), material_id)
    return services.publish_material(current_member(), material)


@bp.post("/materials/<int:material_id>/withdraw")
@login_required("secretary", "admin")
@bp.arguments(WithdrawSchema)
@bp.response(200, MaterialManageSchema)
def withdraw_material(body, material_id):
    """Withdraw an item, with a reason; members no longer see it."""
    material = services.material_for_manager(current_member(), material_id)
    return services.withdraw_material(current_member(), material, body["reason"])


@bp.post("/materials/<int:material_id>/reads")
@login_required(prefetch=branch_today.prefetch_items)
@bp.response(200, ReadingStateSchema)
def open_material(material_id):
    """Report that the member opened an item; the server starts its clock on the first report."""
    return services.open_material(requester(), _to_study(material_id))


def _finish_prefetch(member_id, branch_id):
    """What a finish reads with the session: the branch's items today and the reading kept since its open."""
    entries, calls = branch_today.prefetch_items(member_id, branch_id)
    return entries, [*calls, opened.prefetch_call(member_id)]


@bp.post("/materials/<int:material_id>/reads/finish")
@login_required(prefetch=_finish_prefetch)
@bp.arguments(FinishSchema)
@bp.response(200, FinishResultSchema)
def finish_material(body, material_id):
    """Report that the member left an item; it counts as studied once the server measured enough time."""
    return services.finish_material(requester(), _to_study(material_id), body.get("client_seconds"))


def _to_study(material_id):
    """The item a member opens or leaves: today's from their branch's entry (no SQL), else from the tables (404
    unless theirs to study)."""
    return (branch_today.todays_item(g.member_data["branch_id"], material_id)
            or services.material_for_member(current_member(), material_id, body=False))


@bp.get("/me/reading")
@login_required()
@bp.arguments(ReadingHistoryArgs, location="query")
@bp.response(200, MyReadingSchema)
def my_reading(args):
    """Show the member's progress today, streak and per-day history."""
    return services.my_reading(current_member(), args)


@bp.get("/me/points")
@login_required()
@bp.response(200, MyPointsSchema)
def my_points():
    """Show the member's points: total, this week, this year, and what each rule can still give today."""
    return points.member_points(current_member().id)


@bp.get("/me/points/entries")
@login_required()
@bp.arguments(PageArgs, location="query")
@bp.response(200, PointEntryPageSchema)
def my_point_entries(args):
    """List the member's ledger rows, newest first."""
    return paginate(services.point_entries(current_member()), args["page"], args["per_page"])


# --- secretaries and admins ------------------------------------------------------------------------

@bp.get("/manage/materials")
@login_required("secretary", "admin")
@bp.arguments(ManageListArgs, location="query")
@bp.response(200, MaterialManagePageSchema)
def manage_materials(args):
    """List the items the caller manages, drafts and withdrawn ones included."""
    page = paginate(services.manage_list(current_member(), args), args["page"], args["per_page"])
    services.decorate_manage(page["items"])
    return page


@bp.post("/materials/import")
@login_required("secretary", "admin")
@bp.arguments(PlanImportArgs, location="query")
@bp.arguments(PlanUploadSchema, location="files")
@bp.response(200, PlanImportResultSchema)
def import_plan_file(args, files):
    """Import a study plan from CSV/XLSX: every row applies or none."""
    return services.import_plan_file(current_member(), request.files.get("file"), args)


@bp.post("/materials/import-json")
@login_required("secretary", "admin")
@bp.arguments(PlanSchema)
@bp.response(200, PlanImportResultSchema)
def import_plan_json(body):
    """Import a study plan as JSON items: every item applies or none."""
    return services.import_plan_json(current_member(), body)


@bp.get("/branches/<int:branch_id>/reading")
@login_required("secretary", "admin")
@bp.arguments(ReadingPeriodArgs, location="query")
@bp.response(200, BranchReadingSchema)
def branch_reading(args, branch_id):
    """Show a branch's reading completion for a day or an ISO week: the rate, who studied what, who did not."""
    branch = scope.branch_for(current_member(), branch_id)
    start, end, _ = stats.period_from_args(args)
    return stats.branch_reading_detail(branch, start, end)


@bp.get("/branches/<int:branch_id>/reading/export")
@login_required("secretary", "admin")
@tables.documented_download(bp, "csv", "xlsx")
@bp.arguments(ReadingExportArgs, location="query")
def branch_reading_export(args, branch_id):
    """Download a branch's reading completion for a day or an ISO week (CSV or XLSX, one row a member, 合计)."""
    branch = scope.branch_for(current_member(), branch_id)
    start, end, _ = stats.period_from_args(args)
    return services.export_reading(branch, start, end, args["format"])


@bp.get("/committees/<int:committee_id>/reading")
@login_required("admin")
@bp.arguments(CommitteeReadingArgs, location="query")
@bp.response(200, CommitteeReadingSchema)
def committee_reading(args, committee_id):
    """Show reading completion for every branch of a committee's subtree, for a day or an ISO week."""
    committee = scope.committee_for(current_member(), committee_id)
    start, end, week_key = stats.period_from_args(args)
    result = stats.committee_reading(services.subtree_branch_ids(committee), start, end, args["page"],
                                     args["per_page"])
    return dict(result, start=start, end=end, week_key=week_key)


# --- leaderboards ----------------------------------------------------------------------------------

@bp.get("/branches/<int:branch_id>/leaderboard")
@login_required()
@bp.arguments(LeaderboardArgs, location="query")
@bp.response(200, LeaderboardSchema)
def branch_leaderboard(args, branch_id):
    """Rank a branch's members by points for a week, month or year."""
    branch = scope.branch_for(current_member(), branch_id, manage=False)
    return leaderboards.board("branch", branch.id, args["period"], args.get("day") or clock.today(),
                              args["limit"], current_member().id)


@bp.get("/committees/<int:committee_id>/leaderboard")
@login_required()
@bp.arguments(LeaderboardArgs, location="query")
@bp.response(200, LeaderboardSchema)
def committee_leaderboard(args, committee_id):
    """Rank a committee's members (its whole subtree) by points for a week, month or year."""
    committee = services.committee_for_board(current_member(), committee_id)
    return leaderboards.board("committee", committee.id, args["period"], args.get("day") or clock.today(),
                              args["limit"], current_member().id)
