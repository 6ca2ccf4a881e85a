"""HTTP endpoints of the members room: thin — parse, call one service, respond."""
from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from core.extensions import db, limiter
from core.schemas import paginate
from members import auth, scope, services
from members.auth import current_member, login_required
from members.schemas import (
    AuditArgs,
    AuditPageSchema,
    BranchSummarySchema,
    LoginResultSchema,
    MemberListArgs,
    MemberPageSchema,
    MemberSchema,
    MemberUpdateSchema,
    OkSchema,
    RosterResultSchema,
    RosterUploadSchema,
    WeChatLoginSchema,
)

bp = Blueprint("members", __name__, url_prefix="/api/v1", description="组织、党员与登录")


def _login_ip_limit():
    return current_app.config["RATELIMIT_LOGIN_IP"]


@bp.post("/auth/wechat")
@limiter.limit(_login_ip_limit, key_func=lambda: f"login-ip:{request.remote_addr}")
@bp.arguments(WeChatLoginSchema)
@bp.response(200, LoginResultSchema)
@bp.doc(security=[])
def login_wechat(body):
    """Log in with a wx.login code; on first login also send phone_code to bind to the roster."""
    return services.login_with_wechat(body["code"], body.get("phone_code"))


@bp.post("/auth/logout")
@login_required()
@bp.response(200, OkSchema)
def logout():
    """Revoke this session's token."""
    auth.revoke_session(g.session_id)
    db.session.commit()
    return {"ok": True}


@bp.get("/me")
@login_required()
@bp.response(200, MemberSchema)
def me():
    """Show the logged-in member."""
    return current_member()


@bp.get("/branches/<int:branch_id>/members")
@login_required("secretary", "admin")
@bp.arguments(MemberListArgs, location="query")
@bp.response(200, MemberPageSchema)
def branch_members(args, branch_id):
    """List a branch's members, searchable by name (secretary of the branch, or an admin above it)."""
    branch = scope.branch_for(current_member(), branch_id)
    stmt = services.list_branch_members(branch, args.get("q"), args.get("active"))
    return paginate(stmt, args["page"], args["per_page"])


@bp.get("/committees/<int:committee_id>/branches")
@login_required("admin")
@bp.response(200, BranchSummarySchema(many=True))
def committee_branches(committee_id):
    """List the branches under a committee, with member counts (admins)."""
    committee = scope.committee_for(current_member(), committee_id)
    return services.branch_overview(committee)


@bp.route("/members/<int:member_id>")
class MemberResource(MethodView):
    @login_required("secretary", "admin")
    @bp.response(200, MemberSchema)
    def get(self, member_id):
        """Show one member in the caller's scope."""
        return scope.member_for(current_member(), member_id)

    @login_required("secretary", "admin")
    @bp.arguments(MemberUpdateSchema)
    @bp.response(200, MemberSchema)
    def patch(self, changes, member_id):
        """Change a member's role (admins), active flag, name, group or join date (secretaries and admins)."""
        target = scope.member_for(current_member(), member_id)
        return services.update_member(current_member(), target, changes)


@bp.delete("/members/<int:member_id>/wechat")
@login_required("secretary", "admin")
@bp.response(200, MemberSchema)
def unbind_wechat(member_id):
    """Unbind a member's WeChat (they changed phone or account): their sessions end; the next login binds anew."""
    target = scope.member_for(current_member(), member_id)
    return services.unbind_wechat(current_member(), target)


@bp.post("/committees/<int:committee_id>/roster")
@login_required("admin")
@bp.arguments(RosterUploadSchema, location="files")
@bp.response(200, RosterResultSchema)
def committee_roster(files, committee_id):
    """Import a roster (CSV/XLSX) for a committee: all rows apply or none."""
    committee = scope.committee_for(current_member(), committee_id)
    return services.import_roster(current_member(), request.files.get("file"), committee)


@bp.post("/branches/<int:branch_id>/roster")
@login_required("secretary", "admin")
@bp.arguments(RosterUploadSchema, location="files")
@bp.response(200, RosterResultSchema)
def branch_roster(files, branch_id):
    """Import a roster (CSV/XLSX) for one branch: all rows apply or none."""
    branch = scope.branch_for(current_member(), branch_id)
    return services.import_roster(current_member(), request.files.get("file"), branch.committee, branch)


@bp.get("/committees/<int:committee_id>/audit")
@login_required("admin")
@bp.arguments(AuditArgs, location="query")
@bp.response(200, AuditPageSchema)
def committee_audit(args, committee_id):
    """Read the audit trail of a committee's subtree, newest first, filtered by action or actor (admins; read-only)."""
    committee = scope.committee_for(current_member(), committee_id)
    return services.audit_page(committee, args["page"], args["per_page"], args.get("action"), args.get("actor_id"))
