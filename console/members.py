"""党员: a branch's members — search and filter, this year's 1+4+1 at a glance, edit, deactivate, unbind WeChat.

The verbs are the members room's (update_member, unbind_wechat); the tally is quotas.stats'.
"""
from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from console.desk import act, bp, console_login, form_errors, me, page_arg
from core import clock
from core.errors import AppError
from core.extensions import db
from core.schemas import paginate
from members import scope
from members.models import Branch, PartyGroup
from members.schemas import MemberUpdateSchema
from members.services import list_branch_members, unbind_wechat, update_member
from quotas.stats import branch_tally

FILTERS = {"active": {"1": True, "0": False}, "bound": {"1": True, "0": False}}


def scoped_branches(member):
    """The branches a desk user manages, by name (a secretary's one; an admin's subtree)."""
    return db.session.scalars(select(Branch).where(Branch.id.in_(scope.managed_branch_ids(member)))
                              .order_by(Branch.name).limit(500)).all()


def chosen_branch(member, branches):
    """The branch a page is about: ?branch_id= (checked against scope), else the member's own, else the first."""
    wanted = request.args.get("branch_id", type=int) or member.branch_id or (branches[0].id if branches else None)
    if wanted is None:
        return None
    return scope.branch_for(member, wanted)


@bp.get("/members")
@console_login
def members():
    """A branch's members: search by name or phone, filter by active and bound, this year's 1+4+1 progress."""
    branches = scoped_branches(me())
    branch = chosen_branch(me(), branches)
    args = {name: FILTERS[name].get(request.args.get(name, "")) for name in FILTERS}
    q = (request.args.get("q") or "").strip()[:50]
    page = paginate(list_branch_members(branch, q or None, **args), page_arg(), 50) if branch else None
    tally = branch_tally(branch.id, clock.today().year) if branch else None
    progress = {row["member_id"]: row for row in tally["members"]} if tally else {}
    return render_template("console/members.html", branches=branches, branch=branch, page=page, q=q,
                           filters={name: request.args.get(name, "") for name in FILTERS}, progress=progress,
                           policy=tally["policy"] if tally else None)


@bp.route("/members/<int:member_id>", methods=["GET", "POST"])
@console_login
def member(member_id):
    """Edit a member's name, group and join date."""
    target = scope.member_for(me(), member_id)
    errors, form = {}, None
    if request.method == "POST":
        form = request.form.to_dict()
        body = {"name": form.get("name", ""), "group_id": form.get("group_id") or None,
                "joined_on": form.get("joined_on") or None}
        try:
            update_member(me(), target, MemberUpdateSchema().load(body))
            flash(f"已保存 {target.name} 的信息。", "ok")
            return redirect(url_for("console.member", member_id=target.id))
        except (ValidationError, AppError) as exc:
            errors = form_errors(exc)
    if form is None:
        form = {"name": target.name, "group_id": str(target.group_id or ""),
                "joined_on": target.joined_on.isoformat() if target.joined_on else ""}
    groups = db.session.scalars(select(PartyGroup).where(PartyGroup.branch_id == target.branch_id)
                                .order_by(PartyGroup.name)).all()
    return render_template("console/member.html", target=target, form=form, errors=errors,
                           groups=groups), 422 if errors else 200


@bp.post("/members/<int:member_id>/active")
@console_login
def member_active(member_id):
    """Deactivate or reactivate a member (deactivation ends their sessions)."""
    target = scope.member_for(me(), member_id)
    active = request.form.get("active") == "1"
    act(lambda: update_member(me(), target, {"active": active}), f"已{'恢复' if active else '停用'} {target.name}。")
    return redirect(url_for("console.member", member_id=target.id))


@bp.post("/members/<int:member_id>/unbind")
@console_login
def member_unbind(member_id):
    """Unbind a member's WeChat: their phone's sessions end; the next login binds the new WeChat by phone."""
    target = scope.member_for(me(), member_id)
    act(lambda: unbind_wechat(me(), target), f"已解绑 {target.name} 的微信，其可用新微信重新登录绑定。")
    return redirect(url_for("console.member", member_id=target.id))
