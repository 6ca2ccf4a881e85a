"""The verbs of 每日学习: publish and manage material, import plans, record reading. They own transactions."""
import re
from datetime import date, datetime, timedelta

from flask import current_app
from marshmallow import ValidationError
from redis.exceptions import RedisError
from sqlalchemy import and_, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import defer

from core import audit, clock
from core.db import dialect_insert
from core.cache import get_redis, key
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.extensions import db
from core.tables import download, read_upload, reject_rows, row_error, to_csv, to_xlsx
from learning import points, rollups, rules
from learning.content import render_body
from learning.models import KIND_LABELS, Material, MaterialAudience, Reading
from members import scope
from members.models import Branch, Member

EDITABLE = ("title", "source", "url", "summary", "kind", "estimated_minutes", "tags", "day")


# --- who sees and who manages what ---------------------------------------------------------------

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
    if actor.role == "admin":
        return scope.in_committee_subtree(actor, material.committee_id)
    if actor.role == "secretary":
        return material.branch_id is not None and material.branch_id == actor.branch_id
    return False


def managed_clause(actor):
    """A WHERE clause over Material limiting rows to those the actor manages."""
    if actor.role == "admin":
        return Material.committee_id.in_(scope.subtree_committee_ids(actor.committee_id))
    if actor.role == "secretary" and actor.branch_id:
        return Material.branch_id == actor.branch_id
    return literal(False)


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
    if actor.role == "secretary":
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


def audience_branch_ids(material_ids):
    """{material id: [branch ids]} for a page of materials, in one query."""
    found = {m: [] for m in material_ids}
    if material_ids:
        for material_id, branch_id in db.session.execute(
                select(MaterialAudience.material_id, MaterialAudience.branch_id)
                .where(MaterialAudience.material_id.in_(material_ids)).order_by(MaterialAudience.branch_id)):
            found[material_id].append(branch_id)
    return found


# --- publishing ----------------------------------------------------------------------------------

def _apply_fields(material, data):
    for name in EDITABLE:
        if name in data:
            setattr(material, name, data[name] if name != "source" else (data[name] or ""))
    if "body" in data:
        material.body = render_body(data["body"], data.get("body_format") or "markdown")


def _check_day(day, publishing):
    if publishing and day < clock.today():
        raise Invalid("不能发布到已经过去的日期", code="day_past", details={"fields": {"day": ["学习日已过"]}})


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
    db.session.commit()
    forget_all_streaks()
    return decorate_manage([material])[0]


def manage_list(actor, args):
    """A select of the materials the actor manages, filtered like the archive, plus by status."""
    stmt = _filtered(select(Material).where(managed_clause(actor)), args)
    if args.get("status"):
        stmt = stmt.where(Material.status == args["status"])
    return stmt.order_by(Material.day.desc(), Material.id.desc())


# --- plan import ---------------------------------------------------------------------------------

PLAN_HEADERS = ("日期", "标题", "来源", "原文链接", "摘要", "正文", "类型", "预计分钟", "标签")
PLAN_REQUIRED = ("日期", "标题")
KIND_BY_LABEL = {**{label: kind for kind, label in KIND_LABELS.items()}, **{k: k for k in KIND_LABELS}}
TAG_SPLIT = re.compile(r"[,，、;；\s]+")


def _plan_audience(actor, args):
    if "committee_id" in args and "branch_id" in args:
        raise Invalid("committee_id 与 branch_id 只能选一个")
    if "branch_id" in args:
        return {"branch_ids": [args["branch_id"]]}
    if "committee_id" in args:
        return {"committee_id": args["committee_id"]}
    return None


def import_plan_file(actor, file_storage, args):
    """Import a plan from CSV/XLSX (Chinese headers): validated as a whole, every row or none."""
    audience = resolve_audience(actor, _plan_audience(actor, args))
    rows = read_upload(file_storage, PLAN_HEADERS, PLAN_REQUIRED, current_app.config["IMPORT_MAX_ROWS"])
    parsed, errors = [], []
    for number, row in rows:
        item, problems = _parse_plan_row(number, row)
        errors.extend(problems)
        parsed.append((number, item))
    return _apply_plan(actor, audience, parsed, errors, args["publish"], file_storage.filename)


def import_plan_json(actor, body):
    """Import a plan given as JSON items: validated as a whole, every item or none."""
    from learning.schemas import PlanItemSchema

    audience = resolve_audience(actor, body.get("audience"))
    schema, parsed, errors = PlanItemSchema(), [], []
    for number, raw in enumerate(body["items"], start=1):
        try:
            parsed.append((number, schema.load(raw)))
        except ValidationError as exc:
            for field, reasons in sorted(exc.normalized_messages().items()):
                errors.append(row_error(number, field, "；".join(_flat(reasons))))
    return _apply_plan(actor, audience, parsed, errors, body["publish"], None)


def _flat(reasons):
    if isinstance(reasons, dict):
        return [f"{k}: {r}" for k, v in reasons.items() for r in _flat(v)]
    return [str(r) for r in (reasons if isinstance(reasons, list) else [reasons])]


def _parse_plan_row(number, row):
    problems, item = [], {"body_format": "markdown"}
    try:
        item["day"] = datetime.strptime(row["日期"].replace("/", "-"), "%Y-%m-%d").date()
    except ValueError:
        problems.append(row_error(number, "日期", "日期格式应为 YYYY-MM-DD"))
    title = row["标题"]
    if not title or len(title) > 200:
        problems.append(row_error(number, "标题", "标题不能为空，且不超过 200 个字"))
    item["title"] = title
    for header, name, limit in (("来源", "source", 100), ("摘要", "summary", 1000), ("正文", "body", 200000)):
        value = row.get(header, "")
        if len(value) > limit:
            problems.append(row_error(number, header, f"不能超过 {limit} 个字"))
        item[name] = value
    url = row.get("原文链接", "")
    if url and (not re.match(r"^https?://[^\s]+$", url) or len(url) > 500):
        problems.append(row_error(number, "原文链接", "应为 http:// 或 https:// 开头的网址"))
    item["url"] = url or None
    kind = row.get("类型", "") or "文章"
    if kind not in KIND_BY_LABEL:
        problems.append(row_error(number, "类型", "类型应为 文章、视频 或 文件"))
    item["kind"] = KIND_BY_LABEL.get(kind, "article")
    minutes = row.get("预计分钟", "") or "5"
    if not minutes.isdigit() or not 1 <= int(minutes) <= 600:
        problems.append(row_error(number, "预计分钟", "应为 1 到 600 之间的整数"))
    else:
        item["estimated_minutes"] = int(minutes)
    tags = [t for t in TAG_SPLIT.split(row.get("标签", "")) if t]
    if len(tags) > 10 or any(len(t) > 20 for t in tags):
        problems.append(row_error(number, "标签", "最多 10 个标签，每个不超过 20 个字"))
    item["tags"] = tags
    return item, problems


def _apply_plan(actor, audience, parsed, errors, publish, filename):
    seen = {}
    column = "标题" if filename is not None else "title"
    for number, item in parsed:
        if "day" in item and publish and item["day"] < clock.today():
            errors.append(row_error(number, "日期" if filename is not None else "day", "学习日已过"))
        key = (item.get("day"), item.get("title"))
        if key in seen:
            errors.append(row_error(number, column, f"与第 {seen[key]} 行的日期和标题重复"))
        else:
            seen[key] = number
    if errors:
        reject_rows(sorted(errors, key=lambda e: (e["row"], e["column"])))
    kind, committee_id, branch_id, ids = audience
    created = []
    for _, item in parsed:
        material = _new_material(actor, dict(item, publish=publish), kind, committee_id, branch_id)
        created.append(material)
    db.session.flush()
    for material in created:
        _expand_audience(material, ids)
    audit.record(actor, "material.import", "plan", None, filename=filename, created=len(created),
                 published=publish)
    db.session.commit()
    return {"created": len(created), "ids": [m.id for m in created]}


# --- what a member studies -----------------------------------------------------------------------

def _filtered(stmt, args):
    if args.get("start"):
        stmt = stmt.where(Material.day >= args["start"])
    if args.get("end"):
        stmt = stmt.where(Material.day <= args["end"])
    if args.get("q"):
        q = args["q"].strip()
        stmt = stmt.where(or_(Material.title.contains(q, autoescape=True),
                              Material.tags_text.contains("," + q + ",", autoescape=True)))
    if args.get("tag"):
        stmt = stmt.where(Material.tags_text.contains("," + args["tag"] + ",", autoescape=True))
    return stmt


def archive(member, args):
    """A select of the material the member can see, newest day first, filtered by dates and search."""
    if args.get("start") and args.get("end") and args["start"] > args["end"]:
        raise Invalid("开始日期不能晚于结束日期", details={"fields": {"from": ["晚于 to"]}})
    return _filtered(select(Material).where(visible_clause(member)), args).order_by(
        Material.day.desc(), Material.id.desc())


def today_for(member):
    """Today's material for a member, each with their own reading state, plus progress and streak."""
    today = clock.today()
    # Items and the member's readings in one statement; the list never shows the body, so it stays unloaded.
    rows = db.session.execute(
        select(Material, Reading).options(defer(Material.body))
        .outerjoin(Reading, and_(Reading.material_id == Material.id, Reading.member_id == member.id))
        .where(visible_clause(member, today), Material.day == today).order_by(Material.id)).all()
    items = []
    for material, reading in rows:
        material._state = _state(material, reading)
        items.append(material)
    done = sum(1 for m in items if m._state["completed"])
    return {"day": today, "items": items, "progress": {"total": len(items), "completed": done},
            "streak": reading_streak(member, today, (len(items), done))}


def required_for(material):
    config = current_app.config
    return rules.required_seconds(material.estimated_minutes, config["READ_MIN_SECONDS"],
                                  config["READ_SECONDS_PER_MINUTE"])


def _state(material, reading):
    return {"opened_at": reading.opened_at if reading else None,
            "finished_at": reading.finished_at if reading else None,
            "seconds": reading.seconds if reading else 0,
            "required_seconds": required_for(material),
            "completed": bool(reading and reading.completed_at),
            "completed_at": reading.completed_at if reading else None}


def decorate(member, materials):
    """Attach the member's reading state to each material (one query for the page)."""
    ids = [m.id for m in materials]
    readings = {r.material_id: r for r in db.session.scalars(
        select(Reading).where(Reading.member_id == member.id, Reading.material_id.in_(ids)))} if ids else {}
    for material in materials:
        material._state = _state(material, readings.get(material.id))
    return materials


def decorate_manage(materials, viewer=None):
    """Attach audience branch ids (and the viewer's state) to materials shown to a manager."""
    audiences = audience_branch_ids([m.id for m in materials])
    for material in materials:
        material._branch_ids = audiences[material.id]
        if not hasattr(material, "_state"):
            material._state = _state(material, None)
    if viewer is not None:
        decorate(viewer, materials)
    return materials


def open_material(member, material):
    """Record that a member opened an item (the first open starts the clock); repeats change nothing."""
    if material.status != "published" or material.day > clock.today():
        raise Conflict("该学习内容尚未发布或已撤回", code="material_not_open")
    now = clock.now()
    inserted = _insert_ignore(Reading, {"member_id": member.id, "material_id": material.id, "day": material.day,
                                        "opened_at": now, "seconds": 0}, ["member_id", "material_id"],
                              returning=Reading.id).first()
    if inserted is not None:  # the first open: its state is known without reading it back
        state = {"opened_at": now, "finished_at": None, "seconds": 0, "required_seconds": required_for(material),
                 "completed": False, "completed_at": None}
    else:
        state = _state(material, _reading(member, material))
    db.session.commit()
    return state


def finish_material(member, material, client_seconds=None):
    """Record that a member left an item; the server decides whether it now counts as studied."""
    reading = _reading(member, material, lock=True)
    if reading is None:
        raise Conflict("请先打开学习内容", code="reading_not_started")
    now = clock.now()
    result = {"points_awarded": 0}
    state = _state(material, reading)
    if reading.completed_at is None:
        server_seconds = (now - reading.opened_at).total_seconds()
        credit = rules.credited_seconds(server_seconds, client_seconds, material.estimated_minutes)
        completing = credit >= required_for(material) and material.status == "published"
        flipped = _complete(member, material, reading, credit, now) if completing else None
        if flipped is None:
            seconds = db.session.execute(_reading_update(reading.id).values(
                finished_at=now, seconds=_greatest(Reading.seconds, credit)).returning(Reading.seconds)).scalar()
            if completing:  # a concurrent twin completed it first: report the row as it now stands
                db.session.refresh(reading)
                state = _state(material, reading)
            state.update(finished_at=now, seconds=seconds)
        else:
            result["points_awarded"], seconds = flipped
            state.update(finished_at=now, seconds=seconds, completed=True, completed_at=now)
    member_id = member.id  # read before the commit expires the row
    db.session.commit()
    result.update(state)
    if state["completed"] and state["completed_at"] == now:  # this report completed it
        forget_streak(member_id)
    return result


def _reading_update(reading_id):
    # Core-style update: the ORM need not re-read what it changed, the caller uses RETURNING.
    return (update(Reading).where(Reading.id == reading_id)
            .execution_options(synchronize_session=False))


def _greatest(column, value):
    return func.max(column, value) if db.engine.dialect.name == "sqlite" else func.greatest(column, value)


def _complete(member, material, reading, credit, now):
    """Finish and complete a reading in one UPDATE; return (points, seconds), or None if a twin completed it."""
    # Only the report that flips completed_at from NULL awards points; a concurrent twin finds it set.
    flipped = db.session.execute(
        _reading_update(reading.id).where(Reading.completed_at.is_(None))
        .values(finished_at=now, seconds=_greatest(Reading.seconds, credit), completed_at=now,
                completed_day=clock.local_day_of(now)).returning(Reading.seconds)).first()
    if flipped is None:
        return None
    awarded = _award_completion(member, material, reading, credit, now)
    rollups.after_completion(member.branch_id, reading.day)
    return awarded, flipped[0]


def _award_completion(member, material, reading, credit, now):
    spec = points.rule_spec("study_minutes")
    meta = {"material_id": material.id, "title": material.title}
    return points.award_many(member.id, [
        ("material_studied", f"read:{reading.id}", None, meta),
        ("study_minutes", f"read-minutes:{reading.id}",
         rules.minute_points(credit, spec.get("per_minutes", 1), spec["points"]), dict(meta, seconds=credit))],
        occurred_at=now)


def _reading(member, material, lock=False):
    stmt = select(Reading).where(Reading.member_id == member.id, Reading.material_id == material.id)
    if lock and db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def _insert_ignore(model, values, conflict, returning=None):
    stmt = dialect_insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict)
    return db.session.execute(stmt.returning(returning) if returning is not None else stmt)


# --- progress, streak, history -------------------------------------------------------------------

def _day_counts(member, start, end):
    """({day: items}, {day: completed}, {day: completed on that day}) for a member over [start, end]."""
    if not member.branch_id:
        return {}, {}, {}
    totals = dict(db.session.execute(
        select(Material.day, func.count()).where(visible_clause(member), Material.day >= start, Material.day <= end)
        .group_by(Material.day)).all())
    done = {}
    on_day = {}
    for day, completed, same_day in db.session.execute(
            select(Reading.day, func.count(Reading.completed_at),
                   func.count(Reading.completed_at).filter(Reading.completed_day == Reading.day))
            .join(Material, Material.id == Reading.material_id)
            .where(Reading.member_id == member.id, Reading.day >= start, Reading.day <= end, visible_clause(member))
            .group_by(Reading.day)):
        done[day], on_day[day] = completed, same_day
    return totals, done, on_day


STREAK_LOOKBACK_DAYS = 400


STREAK_TTL_SECONDS = 2 * 86400


def reading_streak(member, today=None, today_counts=None):
    """Consecutive days on which the member studied every item of the day, on that day.

    today_counts, (items today, completed today), saves a query when the caller already has them.
    """
    today = today or clock.today()
    if today_counts is None:
        totals, _, on_day = _day_counts(member, today, today)
        today_counts = (totals.get(today, 0), on_day.get(today, 0))
    total, done = today_counts
    return _past_streak(member, today) + (1 if total and done >= total else 0)


def _past_streak(member, today):
    # Days before today are settled (material cannot be published to a past day, and a late completion
    # does not count), so their part of the streak is cached per member-day; branch and an epoch bumped on
    # withdrawal are part of the entry, and a completion drops the member's entry. Redis down: compute.
    if not member.branch_id:
        return 0
    field = f"{today.isoformat()}:{member.branch_id}"
    cached = epoch = None
    try:
        redis = get_redis()
        epoch, cached = redis.pipeline(transaction=False).get(STREAK_EPOCH).hget(_streak_key(member.id), field) \
            .execute()
    except RedisError:
        redis = None
    if cached is not None:
        cached_epoch, _, value = cached.partition(":")
        if cached_epoch == (epoch or "0"):
            return int(value)
    totals, on_day = _streak_days(member, today - timedelta(days=STREAK_LOOKBACK_DAYS), today - timedelta(days=1))
    value = rules.streak(today, totals, on_day)
    if redis is not None:
        try:
            redis.pipeline(transaction=False).hset(_streak_key(member.id), field, f"{epoch or '0'}:{value}") \
                .expire(_streak_key(member.id), STREAK_TTL_SECONDS).execute()
        except RedisError:
            pass
    return value


def _streak_days(member, start, end):
    """({day: items}, {day: completed on that day}) over [start, end], in one statement.

    The same counts as _day_counts: the member's visible material per day, left-joined to their readings.
    """
    totals, on_day = {}, {}
    for day, total, same_day in db.session.execute(
            select(Material.day, func.count(),
                   func.count(Reading.completed_at).filter(Reading.completed_day == Material.day))
            .outerjoin(Reading, and_(Reading.material_id == Material.id, Reading.member_id == member.id))
            .where(visible_clause(member), Material.day >= start, Material.day <= end).group_by(Material.day)):
        totals[day] = total
        if same_day:
            on_day[day] = same_day
    return totals, on_day


STREAK_EPOCH = key("learning", "streak-epoch")


def _streak_key(member_id):
    return key("learning", "streak", member_id)


def forget_streak(member_id):
    """Drop a member's cached streak (after a completion was committed)."""
    try:
        get_redis().delete(_streak_key(member_id))
    except RedisError:
        pass


def forget_all_streaks():
    """Invalidate every cached streak (after material was withdrawn)."""
    try:
        get_redis().incr(STREAK_EPOCH)
    except RedisError:
        pass


def my_reading(member, args):
    """Today's progress, the streak, and per-day history (default: the last 30 days)."""
    today = clock.today()
    end = min(args.get("end") or today, today)
    start = args.get("start") or end - timedelta(days=29)
    if start > end:
        raise Invalid("开始日期不能晚于结束日期", details={"fields": {"from": ["晚于 to"]}})
    if (end - start).days > 366:
        raise Invalid("一次最多查询 366 天", details={"fields": {"from": ["范围过大"]}})
    totals, done, on_day = _day_counts(member, start, end)
    days = [{"day": d, "total": totals[d], "completed": done.get(d, 0), "completed_on_day": on_day.get(d, 0)}
            for d in sorted(totals, reverse=True)]
    today_totals, today_done, _ = _day_counts(member, today, today)
    return {"today": {"total": today_totals.get(today, 0), "completed": today_done.get(today, 0)},
            "streak": reading_streak(member, today), "days": days}


# --- for notifications and the console -----------------------------------------------------------

def members_with_material(day):
    """A select of active members' ids who have published material for a local day."""
    branches = (select(MaterialAudience.branch_id).join(Material, Material.id == MaterialAudience.material_id)
                .where(Material.day == day, Material.status == "published"))
    return select(Member.id).where(Member.active.is_(True), Member.branch_id.in_(branches))


def point_entries(member):
    """A select of a member's ledger rows, newest first by when they were earned (the id breaks ties, so pages
    never overlap)."""
    from learning.models import PointEntry

    return (select(PointEntry).where(PointEntry.member_id == member.id)
            .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc()))


READING_EXPORT_HEADERS = ("姓名", "已学（篇次）", "应学（篇次）", "学习时长（分钟）", "完成率")


def _pct(rate):
    return "" if rate is None else f"{rate * 100:.0f}%"


def export_reading(branch, start, end, kind):
    """A branch's reading completion over [start, end] as a CSV or XLSX download: one row a member, then 合计.

    The rows are stats.branch_reading_detail's, so the file says what the API and the console say.
    """
    from learning.stats import branch_reading_detail

    detail = branch_reading_detail(branch, start, end)
    rows = [(m["name"], m["completed"], m["total"], round(m["seconds"] / 60),
             _pct(m["completed"] / m["total"] if m["total"] else None)) for m in detail["members"]]
    summary = detail["summary"]
    rows.append(("合计", summary["completed"], summary["expected"],
                 round(sum(m["seconds"] for m in detail["members"]) / 60), _pct(summary["rate"])))
    period = detail["week_key"] if start != end else start.isoformat()
    filename = f"{branch.name}_{period}学习完成情况.{kind}"
    body = (to_csv(READING_EXPORT_HEADERS, rows) if kind == "csv"
            else to_xlsx(READING_EXPORT_HEADERS, rows, title=f"{period}学习完成情况"))
    return download(body, filename, kind)


def subtree_branch_ids(committee):
    """A select of the ids of every branch in a committee's subtree."""
    return select(Branch.id).where(Branch.committee_id.in_(scope.subtree_committee_ids(committee.id)))


def committee_for_board(member, committee_id):
    """A committee whose leaderboard the member may see: their own, or one an admin oversees; else 404."""
    from members.models import Committee

    committee = db.session.get(Committee, committee_id)
    if committee is None:
        raise NotFound()
    if member.committee_id == committee.id or scope.in_committee_subtree(member, committee.id):
        return committee
    raise NotFound()
