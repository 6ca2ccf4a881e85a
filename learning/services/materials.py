"""Publishing material: create, edit, publish and withdraw it, the manager's list, and who has material on a day."""
from sqlalchemy import select

from core import audit, clock
from core.db import after_commit
from core.errors import Conflict, Invalid
from core.extensions import db
from learning.content import render_body
from learning.models import Material, MaterialAudience
from learning.services.reading import _filtered, decorate_manage
from learning.services.streaks import forget_all_streaks
from learning.services.visibility import _expand_audience, managed_clause, resolve_audience
from members.models import Member

EDITABLE = ("title", "source", "url", "summary", "kind", "estimated_minutes", "tags", "day")


def _apply_fields(material, data):
    for name in EDITABLE:
        if name in data:
            setattr(material, name, data[name] if name != "source" else (data[name] or ""))
    if "body" in data:
        material.body = render_body(data["body"], data.get("body_format") or "markdown")


def _check_day(day, publishing):
    if publishing and day < clock.today():
        raise Invalid.field("不能发布到已经过去的日期", "day", "学习日已过", code="day_past")


def create_material(actor, data):
    """Create a draft, or publish it for its day (a future day is a scheduled item)."""
    kind, committee_id, branch_id, ids = resolve_audience(actor, data.get("audience"))
    _check_day(data["day"], data.get("publish"))
    material = _new_material(actor, data, kind, committee_id, branch_id)
    db.session.flush()
    _expand_audience(material, ids)
    audit.record(actor, "material.publish" if material.status == "published" else "material.draft",
                 "material", material.id, title=material.title, day=material.day.isoformat())
    db.session.commit()
    return decorate_manage([material])[0]


def _new_material(actor, data, kind, committee_id, branch_id):
    material = Material(audience=kind, committee_id=committee_id, branch_id=branch_id, author_id=actor.id,
                        source="", summary="", body="", kind="article", estimated_minutes=5, tags=[],
                        status="draft", created_at=clock.now(), updated_at=clock.now())
    _apply_fields(material, data)
    if data.get("publish"):
        material.status, material.published_at = "published", clock.now()
    db.session.add(material)
    return material


def update_material(actor, material, data):
    """Edit a draft, or a published item whose day has not yet come."""
    if material.status == "withdrawn":
        raise Conflict("已撤回的学习内容不能修改", code="material_withdrawn")
    if material.status == "published" and material.day <= clock.today():
        raise Conflict("学习日已到，不能再修改；如有错误请撤回", code="material_locked")
    if "day" in data:
        _check_day(data["day"], material.status == "published")
    if "audience" in data:
        kind, committee_id, branch_id, ids = resolve_audience(actor, data["audience"])
        material.audience, material.committee_id, material.branch_id = kind, committee_id, branch_id
        _expand_audience(material, ids)
    _apply_fields(material, data)
    material.updated_at = clock.now()
    audit.record(actor, "material.edit", "material", material.id, fields=sorted(data))
    db.session.commit()
    return decorate_manage([material])[0]


def publish_material(actor, material):
    """Publish a draft for its day."""
    if material.status != "draft":
        raise Conflict("只有草稿可以发布", code="not_draft")
    _check_day(material.day, True)
    material.status, material.published_at = "published", clock.now()
    audit.record(actor, "material.publish", "material", material.id, title=material.title)
    db.session.commit()
    return decorate_manage([material])[0]


def withdraw_material(actor, material, reason):
    """Withdraw an item with a reason: members no longer see it; points already earned stay."""
    if material.status == "withdrawn":
        raise Conflict("该学习内容已撤回", code="material_withdrawn")
    material.status, material.withdrawn_at, material.withdrawn_reason = "withdrawn", clock.now(), reason
    audit.record(actor, "material.withdraw", "material", material.id, reason=reason)
    after_commit(forget_all_streaks)
    db.session.commit()
    return decorate_manage([material])[0]


def manage_list(actor, args):
    """A select of the materials the actor manages, filtered like the archive, plus by status."""
    stmt = _filtered(select(Material).where(managed_clause(actor)), args)
    if args.get("status"):
        stmt = stmt.where(Material.status == args["status"])
    return stmt.order_by(Material.day.desc(), Material.id.desc())


def members_with_material(day):
    """A select of active members' ids who have published material for a local day."""
    branches = (select(MaterialAudience.branch_id).join(Material, Material.id == MaterialAudience.material_id)
                .where(Material.day == day, Material.status == "published"))
    return select(Member.id).where(Member.active.is_(True), Member.branch_id.in_(branches))
