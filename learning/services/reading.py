"""What a member studies: the archive, today's material, opening and finishing it (dwell time, points), and a
branch's reading export."""

from flask import current_app
from sqlalchemy import Integer, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import defer

from core import clock, fresh
from core.db import after_commit, alone, begin_alone, built_once, dialect_insert
from core.errors import Conflict, Invalid
from core.extensions import db
from core.tables import download, to_csv, to_xlsx
from learning import points, rollups, rules
from learning.models import Material, Reading
from learning.services import opened
from learning.services.streaks import forget_streak, reading_streak
from learning.services.visibility import audience_branch_ids, visible_clause
from learning.stats import branch_reading_detail


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
        raise Invalid.field("开始日期不能晚于结束日期", "from", "晚于 to")
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


def no_reading_state(material):
    """The state of an item its member has not opened."""
    return _state(material, None)


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
            material._state = no_reading_state(material)
    if viewer is not None:
        decorate(viewer, materials)
    return materials


def readings_gen(member_id):
    """The counter of a member's readings, bumped by every open and finish (learning.services.today's entries)."""
    return fresh.gen_key("learning", "readings", member_id)


def open_material(member, material):
    """Record that a member opened an item (the first open starts the clock); repeats change nothing.

    One INSERT that does nothing when the row is there, alone (core.db.alone: one round trip on PostgreSQL)."""
    if material.status != "published" or material.day > clock.today():
        raise Conflict("该学习内容尚未发布或已撤回", code="material_not_open")
    now = clock.now()
    # Read before the statement commits: a commit expires the member (and an item the tables gave), and reading
    # them again would cost a query each.
    row = {"member_id": member.id, "material_id": material.id, "day": material.day, "opened_at": now, "seconds": 0}
    required = required_for(material)
    fresh.bump_after_commit(readings_gen(row["member_id"]))
    inserted = alone(_open_statement(), row)
    if inserted:  # the first open: its state is known without reading it back
        opened.remember(row["member_id"], row["material_id"], opened.Opened(inserted[0].id, row["day"], now))
        return {"opened_at": now, "finished_at": None, "seconds": 0, "required_seconds": required,
                "completed": False, "completed_at": None}
    reading = _reading(row["member_id"], row["material_id"])
    if reading.completed_at is None:
        opened.remember(row["member_id"], row["material_id"], reading)
    return _state(material, reading)


@built_once
def _open_statement():
    # On the table, not the model: a Core statement skips the ORM's bulk-insert handling.
    return (dialect_insert(_READINGS).on_conflict_do_nothing(index_elements=["member_id", "material_id"])
            .returning(_READINGS.c.id))


def finish_material(member, material, client_seconds=None):
    """Record that a member left an item; the server decides whether it now counts as studied.

    Its reading is read without a lock: what the credit is measured from (when it was opened) never changes, and
    each write says in its WHERE when it applies. The read and a finish that does not complete are each one
    statement alone (core.db.begin_alone: a round trip each on PostgreSQL); the finish that completes flips
    completed_at from NULL in a transaction with its points, so a twin finishing at the same moment neither
    completes it again nor awards twice.

    A finish of a reading kept since its open (learning.services.opened, read with the session) is not read first:
    it is the finish's one statement alone, or the completion's transaction; when that write finds the reading
    completed or gone, the finish goes the way above. `member`: the requester (members.auth.requester), whose id and
    branch no commit expires."""
    known = opened.recall(member.id, material.id)
    if known is not None:
        result = _finish_known(member, material, known, client_seconds)
        if result is not None:
            return result
    begin_alone()
    reading = _reading(member.id, material.id)
    if reading is None:
        raise Conflict("请先打开学习内容", code="reading_not_started")
    now = clock.now()
    result = {"points_awarded": 0}
    state = _state(material, reading)
    if reading.completed_at is not None:  # nothing to record
        if known is not None:
            opened.forget(member.id, material.id)
        result.update(state)
        return result
    if known is None:
        opened.remember(member.id, material.id, reading)
    server_seconds = (now - reading.opened_at).total_seconds()
    credit = rules.credited_seconds(server_seconds, client_seconds, material.estimated_minutes)
    completing = credit >= required_for(material) and material.status == "published"
    if completing:
        db.session.commit()  # out of autocommit (nothing was written): the completion and its points, one transaction
    fresh.bump_after_commit(readings_gen(member.id))
    flipped = _complete(member, material, reading, credit, now) if completing else None
    if flipped is not None:
        result["points_awarded"], seconds = flipped
        state.update(finished_at=now, seconds=seconds, completed=True, completed_at=now)
        after_commit(forget_streak, member.id)  # this report completed it
        db.session.commit()
    else:
        seconds, completed_at = db.session.execute(_finish_statement(), {"reading": reading.id, "credit": credit,
                                                                          "now": now}).one()
        db.session.commit()
        if completed_at is not None:  # a twin completed it meanwhile: report the row as it now stands
            state = _state(material, _reading(member.id, material.id))
        state.update(finished_at=now, seconds=seconds)
    result.update(state)
    return result


def _finish_known(member, material, known, client_seconds):
    """The finish of a reading known from its open (an opened.Opened), or None if its write found it completed or
    gone (nothing written)."""
    now = clock.now()
    credit = rules.credited_seconds((now - known.opened_at).total_seconds(), client_seconds,
                                    material.estimated_minutes)
    state = {"points_awarded": 0, "opened_at": known.opened_at, "required_seconds": required_for(material),
             "completed": False, "completed_at": None, "finished_at": now}
    fresh.bump_after_commit(readings_gen(member.id))
    if credit >= state["required_seconds"] and material.status == "published":
        flipped = _complete(member, material, known, credit, now)
        if flipped is None:
            db.session.rollback()
            return None
        state["points_awarded"], state["seconds"] = flipped
        state.update(completed=True, completed_at=now)
        after_commit(forget_streak, member.id)  # this report completed it
        db.session.commit()
        return state
    rows = alone(_finish_open_statement(), {"reading": known.id, "member": member.id, "material": material.id,
                                            "credit": credit, "now": now})
    if not rows:
        return None
    state["seconds"] = rows[0].seconds
    return state


@built_once
def _finish_open_statement():
    # The finish of a reading not yet completed, named by its member and item too: a kept id that is no longer
    # theirs (the row gone) matches nothing.
    return (update(_READINGS).where(_READINGS.c.id == bindparam("reading"),
                                    _READINGS.c.member_id == bindparam("member"),
                                    _READINGS.c.material_id == bindparam("material"),
                                    _READINGS.c.completed_at.is_(None))
            .values(finished_at=bindparam("now", type_=_READINGS.c.finished_at.type),
                    seconds=_greatest(_READINGS.c.seconds, bindparam("credit", type_=Integer)))
            .returning(_READINGS.c.seconds))


@built_once
def _finish_statement():
    # A finish that does not complete: the later finish time, the larger credit; what the row then says.
    return (update(_READINGS).where(_READINGS.c.id == bindparam("reading"))
            .values(finished_at=bindparam("now", type_=_READINGS.c.finished_at.type),
                    seconds=_greatest(_READINGS.c.seconds, bindparam("credit", type_=Integer)))
            .returning(_READINGS.c.seconds, _READINGS.c.completed_at))


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
        _reading_update(reading.id).where(Reading.member_id == member.id, Reading.material_id == material.id,
                                          Reading.completed_at.is_(None))
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


_READINGS = Reading.__table__
# The columns an open or a finish reads, in Core: a row, not an ORM object (nothing of it is changed through the ORM).
_READ = select(*(_READINGS.c[name] for name in ("id", "day", "opened_at", "finished_at", "seconds", "completed_at")))


def _reading(member_id, material_id):
    return db.session.execute(_READ.where(_READINGS.c.member_id == member_id,
                                          _READINGS.c.material_id == material_id)).first()


READING_EXPORT_HEADERS = ("姓名", "已学（篇次）", "应学（篇次）", "学习时长（分钟）", "完成率")


def _pct(rate):
    return "" if rate is None else f"{rate * 100:.0f}%"


def export_reading(branch, start, end, kind):
    """A branch's reading completion over [start, end] as a CSV or XLSX download: one row a member, then 合计.

    The rows are stats.branch_reading_detail's, so the file says what the API and the console say.
    """
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
