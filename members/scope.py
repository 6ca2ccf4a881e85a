"""The one scoping rule: a member sees their own; a secretary their branch; an admin their committee's subtree.

Anything outside the caller's scope is reported as not found, so guessing ids reveals nothing. Every decision
about who manages or sees what a committee or branch owns is made here: the other rooms ask these functions and
compare no roles themselves (a role named at a login_required decorator excepted).
"""
from sqlalchemy import and_, literal, or_, select

from core.errors import Forbidden, NotFound
from core.extensions import db
from members.models import Branch, Committee, Member

MANAGER_ROLES = ("secretary", "admin")


# --- who manages: a secretary one branch, an admin a committee's subtree -----------------------------

def is_manager(member):
    """Whether a member manages anything: a branch's secretary or a committee's admin (the console's people)."""
    return member.role in MANAGER_ROLES


def manages_committee(member):
    """Whether a member's scope is a committee and its subtree (an admin's), not one branch."""
    return member.role == "admin"


def manages_own_branch(member):
    """Whether a member's scope is their own branch (a secretary's)."""
    return member.role == "secretary"


def needs_branch(role):
    """Whether members of a role belong to a branch: a plain member and a secretary do, an admin need not."""
    return role in ("member", "secretary")


def secretaries_clause(branch_id):
    """A WHERE clause over Member: the secretaries of a branch."""
    return and_(Member.role == "secretary", Member.branch_id == branch_id)


def ancestor_ids(committee):
    """Ids of a committee and every committee above it, read from its path ('/1/7/')."""
    return [int(part) for part in committee.path.strip("/").split("/") if part]


def subtree_committee_ids(committee_id):
    """A select of the ids of a committee and every committee below it."""
    path = db.session.get(Committee, committee_id).path
    return select(Committee.id).where(Committee.path.like(path + "%"))


def managed_branch_ids(member):
    """A select of the branch ids a member may manage (empty for a plain member)."""
    if member.role == "admin":
        return select(Branch.id).where(Branch.committee_id.in_(subtree_committee_ids(member.committee_id)))
    if member.role == "secretary" and member.branch_id:
        return select(Branch.id).where(Branch.id == member.branch_id)
    return select(Branch.id).where(Branch.id.is_(None))


def can_manage_branch(member, branch):
    if member.role == "secretary":
        return member.branch_id == branch.id
    if member.role == "admin":
        return in_committee_subtree(member, branch.committee_id)
    return False


def in_committee_subtree(member, committee_id):
    """Whether an admin's committee is committee_id or one of its ancestors."""
    if member.role != "admin":
        return False
    if committee_id == member.committee_id:
        return True
    target = db.session.get(Committee, committee_id)
    own = db.session.get(Committee, member.committee_id)
    return target is not None and target.path.startswith(own.path)


def can_manage_owned(member, owned):
    """Whether a member manages what a committee or branch owns (a material, a question: anything with committee_id
    and branch_id, branch_id None for the committee's own): an admin all of their subtree's, a secretary their
    branch's own."""
    if member.role == "admin":
        return in_committee_subtree(member, owned.committee_id)
    if member.role == "secretary":
        return owned.branch_id is not None and owned.branch_id == member.branch_id
    return False


def owned_managed_clause(member, model):
    """A WHERE clause over `model` (with committee_id and branch_id): the rows can_manage_owned allows."""
    if member.role == "admin":
        return model.committee_id.in_(subtree_committee_ids(member.committee_id))
    if member.role == "secretary" and member.branch_id:
        return model.branch_id == member.branch_id
    return literal(False)


def managers_clause(committee_id, branch_id=None):
    """A WHERE clause over Member: who manages a committee (its admins and those above), or a branch (also its
    secretary).

    The set of people for whom can_manage_branch / in_committee_subtree hold, as SQL."""
    above = ancestor_ids(db.session.get(Committee, committee_id))
    admins = and_(Member.role == "admin", Member.committee_id.in_(above))
    if branch_id is None:
        return admins
    return or_(admins, secretaries_clause(branch_id))


# --- what a manager sees: what they manage, and what the committees above them own for all -----------

def in_branch_line(branch_id, owned):
    """Whether something a committee or branch owns reaches a branch: the branch's own, or what a committee above
    the branch owns for all (branch_id None)."""
    if owned.branch_id is not None:
        return owned.branch_id == branch_id
    branch = db.session.get(Branch, branch_id)
    return owned.committee_id in ancestor_ids(branch.committee)


def line_clause(model, committee, branch=None):
    """A WHERE clause over `model` (with committee_id and branch_id): what the committee and those above it own for
    all, plus the branch's own when a branch is given."""
    shared = and_(model.committee_id.in_(ancestor_ids(committee)), model.branch_id.is_(None))
    return or_(shared, model.branch_id == branch.id) if branch is not None else shared


def can_see_owned(member, owned):
    """Whether a manager sees what a committee or branch owns (a quiz, a question): an admin all of their subtree's
    and what the committees above own for all; a secretary their branch's own and what the committees above it own
    for all."""
    if member.role == "admin":
        if in_committee_subtree(member, owned.committee_id):
            return True
        own = db.session.get(Committee, member.committee_id)
        return owned.branch_id is None and owned.committee_id in ancestor_ids(own)
    if member.role == "secretary":
        return bool(member.branch_id) and in_branch_line(member.branch_id, owned)
    return False


def owned_visible_clause(member, model):
    """A WHERE clause over `model` (with committee_id and branch_id): the rows can_see_owned allows."""
    if member.role == "admin":
        own = db.session.get(Committee, member.committee_id)
        return or_(model.committee_id.in_(subtree_committee_ids(own.id)), line_clause(model, own))
    if member.role == "secretary" and member.branch_id:
        branch = db.session.get(Branch, member.branch_id)
        return line_clause(model, branch.committee, branch)
    return literal(False)


def owner_for(actor, committee_id=None, branch_id=None):
    """The (committee, branch) a new owned thing (a question, a quiz, an import) belongs to, checked against the
    actor's powers: the branch given, else the committee given, else the actor's own (a secretary's branch, an
    admin's committee with branch None). Only an admin owns for a committee."""
    if branch_id is not None:
        branch = branch_for(actor, branch_id)
        return branch.committee, branch
    if committee_id is None:
        if actor.role == "secretary":
            branch = db.session.get(Branch, actor.branch_id)
            return branch.committee, branch
        committee_id = actor.committee_id
    if actor.role != "admin":
        raise Forbidden("只有党委管理员可以维护党委题库")
    return committee_for(actor, committee_id), None


def branch_for(member, branch_id, manage=True):
    """Load a branch the member may see (manage=False: their own branch too); else 404, or 403 if visible only."""
    return load_in_scope(Branch, branch_id, lambda branch: can_manage_branch(member, branch),
                         lambda branch: member.branch_id == branch.id, manage, "仅支部书记或党委管理员可执行此操作")


def load_in_scope(model, row_id, manages, sees, manage, refusal):
    """Load a row by id as the scoping rule answers: the row when `manages(row)`, or when `sees(row)` and it is only
    read (manage False); 404 when it is missing or not seen (guessing ids reveals nothing), 403 with `refusal` when
    it is seen but asked to be managed."""
    row = db.session.get(model, row_id)
    if row is None:
        raise NotFound()
    if manages(row):
        return row
    if not sees(row):
        raise NotFound()
    if manage:
        raise Forbidden(refusal)
    return row


def committee_for(member, committee_id):
    """Load a committee the member administers (directly or from above); else 404."""
    committee = db.session.get(Committee, committee_id)
    if committee is None or not in_committee_subtree(member, committee_id):
        if committee is not None and member.committee_id == committee_id and member.role != "admin":
            raise Forbidden("仅党委管理员可执行此操作")
        raise NotFound()
    return committee


def member_for(viewer, member_id):
    """Load a member the viewer may manage (or the viewer themself); else 404."""
    target = db.session.get(Member, member_id)
    if target is None:
        raise NotFound()
    if target.id == viewer.id:
        return target
    if viewer.role == "secretary" and target.branch_id == viewer.branch_id and viewer.branch_id:
        return target
    if viewer.role == "admin" and in_committee_subtree(viewer, target.committee_id):
        return target
    raise NotFound()


def member_write_refusal(actor, target, branch=None, role=None):
    """Why `actor` may not write `target` (None: a new member) into `branch` with `role`, as (what, reason) with
    what one of "member", "branch", "role"; None when they may. `branch` or `role` None: left as it is.

    The one rule for every path that writes a member (PATCH /members/{id}, the roster imports of the API and the
    console): a secretary creates and edits members of their own branch only, creates them as 党员 and changes no
    role; an admin writes anyone in their committee's subtree, moves them between its branches and sets roles;
    nobody changes their own role, and only an admin writes an admin.
    """
    if actor.role not in ("secretary", "admin"):
        return "member", "仅支部书记或党委管理员可以修改党员信息"
    if target is not None:
        if actor.role == "secretary" and (actor.branch_id is None or target.branch_id != actor.branch_id):
            return "member", "该手机号已登记在其他支部，支部书记只能导入和修改本支部的党员，请联系党委管理员"
        if actor.role == "admin" and not in_committee_subtree(actor, target.committee_id):
            return "member", "该手机号已登记在其他党委，请联系管理员"
        if target.role == "admin" and actor.role != "admin":
            return "member", "支部书记不能修改党委管理员"
    if branch is not None and not can_manage_branch(actor, branch):
        return "branch", "只能把党员登记到自己管理的支部"
    current = target.role if target is not None else "member"
    if role is not None and role != current:
        if actor.role != "admin":
            return "role", "只有党委管理员可以设置或修改角色，支部书记登记的均为党员"
        if target is not None and target.id == actor.id:
            return "role", "不能修改自己的角色"
    return None


def members_in_scope_clause(viewer):
    """A WHERE clause over Member limiting rows to those the viewer manages."""
    if viewer.role == "admin":
        return Member.committee_id.in_(subtree_committee_ids(viewer.committee_id))
    if viewer.role == "secretary":
        return Member.branch_id == viewer.branch_id
    return Member.id == viewer.id


__all__ = ["MANAGER_ROLES", "is_manager", "manages_committee", "manages_own_branch", "needs_branch",
           "secretaries_clause", "ancestor_ids", "subtree_committee_ids", "managed_branch_ids", "can_manage_branch",
           "in_committee_subtree", "can_manage_owned", "owned_managed_clause", "managers_clause", "in_branch_line",
           "line_clause", "can_see_owned", "owned_visible_clause", "owner_for", "branch_for", "load_in_scope",
           "committee_for", "member_for", "member_write_refusal", "members_in_scope_clause"]
