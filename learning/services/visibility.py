"""Who sees and who manages what: material audiences, the manager's scope, and which committee boards a member sees."""
from sqlalchemy import and_, exists, func, insert, literal, select
from sqlalchemy.orm import defer

from core import clock, fresh
from core.errors import Forbidden, NotFound
from core.extensions import db
from learning.models import Material, MaterialAudience
from members import scope
from members.models import Branch, Committee


def _audience_exists(branch_id):
    return exists().where(MaterialAudience.material_id == Material.id, MaterialAudience.branch_id == branch_id)


def visible_clause(member, today=None):
    """A WHERE clause over Material: published, its day come, and the member's branch in its audience."""
    today = today or clock.today()
    if not member.branch_id:
        return literal(False)
    return and_(Material.status == "published", Material.day <= today, _audience_exists(member.branch_id))


def can_manage(actor, material):
    """Secretaries manage their own branch's items; admins whatever belongs to their committee subtree."""
    return scope.can_manage_owned(actor, material)


def managed_clause(actor):
    """A WHERE clause over Material limiting rows to those the actor manages."""
    return scope.owned_managed_clause(actor, Material)


def material_for_member(member, material_id, body=True):
    """Load a material the member should study (or manages); else 404. body=False leaves the body unloaded."""
    # The row and whether the member may read it come back in one round trip.
    stmt = select(Material, visible_clause(member).label("visible")).where(Material.id == material_id)
    row = db.session.execute(stmt if body else stmt.options(defer(Material.body))).first()
    if row is None:
        raise NotFound("学习内容不存在")
    material, visible = row
    if visible or can_manage(member, material):
        return material
    raise NotFound("学习内容不存在")


def material_for_manager(actor, material_id):
    """Load a material the actor manages: 404 if out of sight, 403 if only visible as a reader."""
    material = db.session.get(Material, material_id)
    if material is None:
        raise NotFound("学习内容不存在")
    if can_manage(actor, material):
        return material
    if db.session.scalar(select(func.count()).select_from(Material)
                         .where(Material.id == material_id, visible_clause(actor))):
        raise Forbidden("只能修改本支部或本党委发布的学习内容")
    raise NotFound("学习内容不存在")


def resolve_audience(actor, audience):
    """Return (audience kind, owning committee id, owning branch id, committee or branch ids) for a request."""
    audience = audience or {}
    if scope.manages_own_branch(actor):
        if "committee_id" in audience or any(b != actor.branch_id for b in audience.get("branch_ids", [])):
            raise Forbidden("支部书记只能向本支部发布学习内容")
        return "branches", actor.branch.committee_id, actor.branch_id, [actor.branch_id]
    if "branch_ids" in audience:
        branch_ids = sorted(set(audience["branch_ids"]))
        branches = [scope.branch_for(actor, b) for b in branch_ids]
        committees = {b.committee_id for b in branches}
        owner = committees.pop() if len(committees) == 1 else actor.committee_id
        return "branches", owner, branch_ids[0] if len(branch_ids) == 1 else None, branch_ids
    committee = scope.committee_for(actor, audience.get("committee_id", actor.committee_id))
    return "committee", committee.id, None, [committee.id]


def _expand_audience(material, ids):
    # A committee audience becomes one row per branch of its subtree, so every reader query is one EXISTS.
    db.session.execute(MaterialAudience.__table__.delete().where(MaterialAudience.material_id == material.id))
    if material.audience == "committee":
        source = select(literal(material.id), Branch.id).where(
            Branch.committee_id.in_(scope.subtree_committee_ids(ids[0])))
    else:
        source = select(literal(material.id), Branch.id).where(Branch.id.in_(ids))
    db.session.execute(insert(MaterialAudience).from_select(["material_id", "branch_id"], source))
    fresh.bump_after_commit(day_gen(material.day))


def day_gen(day):
    """The counter of a day's material: bumped when an item of that day changes in any way a reader sees
    (its audience here, anything else by learning.services.today's flush hook)."""
    return fresh.gen_key("learning", "day", day.isoformat())


def audience_branch_ids(material_ids):
    """{material id: [branch ids]} for a page of materials, in one query."""
    found = {m: [] for m in material_ids}
    if material_ids:
        for material_id, branch_id in db.session.execute(
                select(MaterialAudience.material_id, MaterialAudience.branch_id)
                .where(MaterialAudience.material_id.in_(material_ids)).order_by(MaterialAudience.branch_id)):
            found[material_id].append(branch_id)
    return found


def subtree_branch_ids(committee):
    """A select of the ids of every branch in a committee's subtree."""
    return select(Branch.id).where(Branch.committee_id.in_(scope.subtree_committee_ids(committee.id)))


def committee_for_board(member, committee_id):
    """A committee whose leaderboard the member may see: their own, or one an admin oversees; else 404."""
    committee = db.session.get(Committee, committee_id)
    if committee is None:
        raise NotFound()
    if member.committee_id == committee.id or scope.in_committee_subtree(member, committee.id):
        return committee
    raise NotFound()
