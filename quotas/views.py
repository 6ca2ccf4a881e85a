"""HTTP endpoints of 1+4+1: thin — parse, check scope, call one service, respond."""
from flask.views import MethodView
from flask_smorest import Blueprint

from core import tables
from core.errors import Forbidden
from core.schemas import paginate
from members import scope
from members.auth import current_member, login_required
from quotas import services, stats
from quotas.schemas import (
    AttendanceInSchema,
    AttendanceResultSchema,
    AttendeeSchema,
    BoardSchema,
    BookInSchema,
    BookListArgs,
    BookPageSchema,
    BookSchema,
    BranchCompletionSchema,
    CancelSchema,
    CheckInCodeSchema,
    CheckInResultSchema,
    CheckInSchema,
    ExchangeDetailSchema,
    ExchangeInSchema,
    ExchangeListArgs,
    ExchangePageSchema,
    ExchangeUpdateSchema,
    ExportArgs,
    OkSchema,
    PolicyInSchema,
    PolicySchema,
    PostingDetailSchema,
    PostingInSchema,
    PostingListArgs,
    PostingPageSchema,
    ProgressSchema,
    ReviewSchema,
    YearArgs,
)

bp = Blueprint("quotas", __name__, url_prefix="/api/v1", description="1+4+1：专业技术交流、读书与公示")


def _year(args):
    return args.get("year") or stats.current_year()


# --- policy ------------------------------------------------------------------------------------

@bp.route("/committees/<int:committee_id>/quota-policy")
class CommitteePolicy(MethodView):
    @login_required("admin")
    @bp.arguments(YearArgs, location="query")
    @bp.response(200, PolicySchema)
    def get(self, args, committee_id):
        """Show a committee's quotas for a year (admins)."""
        committee = scope.committee_for(current_member(), committee_id)
        return services.committee_policy(committee.id, _year(args))

    @login_required("admin")
    @bp.arguments(PolicyInSchema)
    @bp.response(200, PolicySchema)
    def put(self, body, committee_id):
        """Set a committee's quotas for a year (admins)."""
        committee = scope.committee_for(current_member(), committee_id)
        return services.set_committee_policy(current_member(), committee, body)


@bp.route("/branches/<int:branch_id>/quota-policy")
class BranchPolicy(MethodView):
    @login_required()
    @bp.arguments(YearArgs, location="query")
    @bp.response(200, PolicySchema)
    def get(self, args, branch_id):
        """Show the quotas that apply to a branch in a year (its members, secretary, admins)."""
        branch = scope.branch_for(current_member(), branch_id, manage=False)
        return services.effective_policy(branch, _year(args))

    @login_required("admin")
    @bp.arguments(PolicyInSchema)
    @bp.response(200, PolicySchema)
    def put(self, body, branch_id):
        """Override a branch's quotas for a year (admins above the branch)."""
        branch = scope.branch_for(current_member(), branch_id)
        return services.set_branch_policy(current_member(), branch, body)

    @login_required("admin")
    @bp.arguments(YearArgs, location="query")
    @bp.response(200, PolicySchema)
    def delete(self, args, branch_id):
        """Drop a branch's override for a year; the committee's quotas apply again."""
        branch = scope.branch_for(current_member(), branch_id)
        return services.clear_branch_policy(current_member(), branch, _year(args))


# --- exchanges ---------------------------------------------------------------------------------

@bp.route("/exchanges")
class Exchanges(MethodView):
    @login_required()
    @bp.arguments(ExchangeListArgs, location="query")
    @bp.response(200, ExchangePageSchema)
    def get(self, args):
        """List the exchanges the caller may see (their branch's, shared ones, their proposals, those they manage)."""
        stmt = services.list_exchanges(current_member(), args.get("year"), args.get("status"), args.get("branch_id"))
        return paginate(stmt, args["page"], args["per_page"])

    @login_required()
    @bp.arguments(ExchangeInSchema)
    @bp.response(201, ExchangeDetailSchema)
    def post(self, body):
        """Record (secretary/admin) or propose (member) an exchange; a retried request returns the first."""
        exchange, created = services.create_exchange(current_member(), body)
        return services.exchange_detail(current_member(), exchange), 201 if created else 200


@bp.route("/exchanges/<int:exchange_id>")
class ExchangeResource(MethodView):
    @login_required()
    @bp.response(200, ExchangeDetailSchema)
    def get(self, exchange_id):
        """Show an exchange, its speakers, attendance count and whether the caller is checked in."""
        exchange = services.exchange_for(current_member(), exchange_id)
        return services.exchange_detail(current_member(), exchange)

    @login_required()
    @bp.arguments(ExchangeUpdateSchema)
    @bp.response(200, ExchangeDetailSchema)
    def patch(self, changes, exchange_id):
        """Edit an exchange (its managers, or the proposer while pending)."""
        exchange = services.exchange_for(current_member(), exchange_id)
        exchange = services.update_exchange(current_member(), exchange, changes)
        return services.exchange_detail(current_member(), exchange)


@bp.post("/exchanges/<int:exchange_id>/review")
@login_required("secretary", "admin")
@bp.arguments(ReviewSchema)
@bp.response(200, ExchangeDetailSchema)
def review_exchange(body, exchange_id):
    """Approve or reject a proposed exchange (the host branch's secretary, or an admin above it)."""
    exchange = services.exchange_for(current_member(), exchange_id, manage=True)
    exchange = services.review_exchange(current_member(), exchange, body["approve"], body.get("reason"))
    return services.exchange_detail(current_member(), exchange)


@bp.post("/exchanges/<int:exchange_id>/cancel")
@login_required()
@bp.arguments(CancelSchema)
@bp.response(200, ExchangeDetailSchema)
def cancel_exchange(body, exchange_id):
    """Cancel an exchange (its managers), or withdraw my own pending proposal; cancelling twice changes nothing."""
    exchange = services.exchange_for(current_member(), exchange_id)
    exchange = services.cancel_exchange(current_member(), exchange, body.get("reason"))
    return services.exchange_detail(current_member(), exchange)


@bp.route("/exchanges/<int:exchange_id>/attendance")
class ExchangeAttendance(MethodView):
    @login_required("secretary", "admin")
    @bp.response(200, AttendeeSchema(many=True))
    def get(self, exchange_id):
        """List who attended an exchange."""
        exchange = services.exchange_for(current_member(), exchange_id, manage=True)
        return services.attendance_rows(exchange)

    @login_required("secretary", "admin")
    @bp.arguments(AttendanceInSchema)
    @bp.response(200, AttendanceResultSchema)
    def post(self, body, exchange_id):
        """Mark members present (marking someone twice changes nothing)."""
        exchange = services.exchange_for(current_member(), exchange_id, manage=True)
        return services.mark_attendance(current_member(), exchange, body["member_ids"])


@bp.delete("/exchanges/<int:exchange_id>/attendance/<int:member_id>")
@login_required("secretary", "admin")
@bp.response(200, OkSchema)
def remove_attendance(exchange_id, member_id):
    """Withdraw a mistaken attendance mark."""
    exchange = services.exchange_for(current_member(), exchange_id, manage=True)
    services.remove_attendance(current_member(), exchange, member_id)
    return {"ok": True}


@bp.get("/exchanges/<int:exchange_id>/check-in-code")
@login_required("secretary", "admin")
@bp.response(200, CheckInCodeSchema)
def checkin_code(exchange_id):
    """Show the 6-digit check-in code and its QR payload (the exchange's managers)."""
    exchange = services.exchange_for(current_member(), exchange_id, manage=True)
    return services.checkin_code(exchange)


@bp.post("/exchanges/<int:exchange_id>/check-in")
@login_required()
@bp.arguments(CheckInSchema)
@bp.response(200, CheckInResultSchema)
def check_in(body, exchange_id):
    """Check in to an exchange with its code, during its time window."""
    exchange = services.exchange_for(current_member(), exchange_id)
    return services.check_in(current_member(), exchange, body["code"])


# --- books -------------------------------------------------------------------------------------

@bp.route("/me/books")
class MyBooks(MethodView):
    @login_required()
    @bp.arguments(BookListArgs, location="query")
    @bp.response(200, BookPageSchema)
    def get(self, args):
        """List my book reports."""
        return paginate(services.member_books(current_member(), args.get("year")), args["page"], args["per_page"])

    @login_required()
    @bp.arguments(BookInSchema)
    @bp.response(201, BookSchema)
    def post(self, body):
        """Report a book I have read, with my reflection; a retried identical report is returned, not doubled."""
        report, created = services.submit_book(current_member(), body)
        return report, 201 if created else 200


@bp.route("/books/<int:report_id>")
class BookResource(MethodView):
    @login_required()
    @bp.response(200, BookSchema)
    def get(self, report_id):
        """Show a book report (its owner, or the owner's secretary / admins)."""
        return services.book_for(current_member(), report_id)

    @login_required()
    @bp.arguments(BookInSchema)
    @bp.response(200, BookSchema)
    def put(self, body, report_id):
        """Revise my pending or rejected report; it goes back to the secretary."""
        report = services.book_for(current_member(), report_id)
        if report.member_id != current_member().id:
            raise Forbidden("只能修改自己的读书报告")
        return services.revise_book(current_member(), report, body)


@bp.post("/books/<int:report_id>/review")
@login_required("secretary", "admin")
@bp.arguments(ReviewSchema)
@bp.response(200, BookSchema)
def review_book(body, report_id):
    """Approve a book report, or reject it with a reason."""
    report = services.book_for(current_member(), report_id, manage=True)
    return services.review_book(current_member(), report, body["approve"], body.get("reason"))


@bp.get("/branches/<int:branch_id>/books")
@login_required("secretary", "admin")
@bp.arguments(BookListArgs, location="query")
@bp.response(200, BookPageSchema)
def branch_books(args, branch_id):
    """The branch's book reports; with status=pending, the approvals queue (oldest first)."""
    branch = scope.branch_for(current_member(), branch_id)
    return paginate(services.branch_books(branch, args.get("status"), args.get("year")), args["page"],
                    args["per_page"])


# --- progress, board, export, postings, completion ------------------------------------------------

@bp.get("/me/quota")
@login_required()
@bp.arguments(YearArgs, location="query")
@bp.response(200, ProgressSchema)
def my_quota(args):
    """My 1+4+1 counts, records with their status, and whether I am on pace."""
    return services.member_progress(current_member(), _year(args))


@bp.get("/members/<int:member_id>/quota")
@login_required("secretary", "admin")
@bp.arguments(YearArgs, location="query")
@bp.response(200, ProgressSchema)
def member_quota(args, member_id):
    """One member's 1+4+1 in detail (drill-down for their secretary and admins)."""
    return services.member_progress(scope.member_for(current_member(), member_id), _year(args))


@bp.get("/branches/<int:branch_id>/quota-board")
@login_required()
@bp.arguments(YearArgs, location="query")
@bp.response(200, BoardSchema)
def quota_board(args, branch_id):
    """The branch tally (公示): every member's given / attended / read and completion, approved records only."""
    branch = scope.branch_for(current_member(), branch_id, manage=False)
    return stats.branch_tally(branch.id, _year(args))


@bp.get("/branches/<int:branch_id>/quota-board/export")
@login_required("secretary", "admin")
@bp.arguments(ExportArgs, location="query")
@tables.documented_download(bp, "xlsx", "csv")
def export_board(args, branch_id):
    """Download the branch tally as XLSX or CSV with Chinese headers."""
    branch = scope.branch_for(current_member(), branch_id)
    return services.export_board(branch, _year(args), args["format"])


@bp.route("/branches/<int:branch_id>/quota-postings")
class Postings(MethodView):
    @login_required()
    @bp.arguments(PostingListArgs, location="query")
    @bp.response(200, PostingPageSchema)
    def get(self, args, branch_id):
        """List the branch's monthly postings (every member may look back)."""
        branch = scope.branch_for(current_member(), branch_id, manage=False)
        return paginate(services.list_postings(branch, args.get("year")), args["page"], args["per_page"])

    @login_required("secretary", "admin")
    @bp.arguments(PostingInSchema)
    @bp.response(201, PostingDetailSchema)
    def post(self, body, branch_id):
        """Post this month's tally, frozen; posting again this month returns the earlier posting (200)."""
        branch = scope.branch_for(current_member(), branch_id)
        posting, created = services.post_tally(branch, current_member(), body.get("year"))
        return posting, 201 if created else 200


@bp.get("/branches/<int:branch_id>/quota-postings/<int:posting_id>")
@login_required()
@bp.response(200, PostingDetailSchema)
def posting(branch_id, posting_id):
    """Show one posting exactly as it was posted."""
    branch = scope.branch_for(current_member(), branch_id, manage=False)
    return services.posting_for(branch, posting_id)


@bp.get("/committees/<int:committee_id>/quota-completion")
@login_required("admin")
@bp.arguments(YearArgs, location="query")
@bp.response(200, BranchCompletionSchema(many=True))
def committee_completion(args, committee_id):
    """The 1+4+1 completion rate of each branch under a committee (admins)."""
    committee = scope.committee_for(current_member(), committee_id)
    return stats.committee_completion(committee, _year(args))

