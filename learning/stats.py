"""Reading completion for secretaries, admins and notifications: aggregated in SQL, one statement per view."""
from datetime import timedelta

from sqlalchemy import and_, distinct, exists, func, select

from core import clock
from core.errors import Invalid
from core.extensions import db
from learning.models import Material, MaterialAudience, Reading, ReadingDayRollup, ReadingWeekRollup
from members.models import Branch, Member


def period_from_args(args):
    """[start, end] local days for ?day= or ?week= (default: this week), and the ISO week they lie in."""
    if "day" in args:
        start = end = args["day"]
    else:
        try:
            start = clock.monday_of_week_key(args["week"]) if "week" in args else clock.week_monday()
        except ValueError:
            raise Invalid.field("周格式应为 2026-W48", "week", "无效的周")
        end = start + timedelta(days=6)
    return start, end, clock.week_key(start)


def _in_audience(material_id, branch_id):
    return exists().where(MaterialAudience.material_id == material_id, MaterialAudience.branch_id == branch_id)


def _completed_reads(start, end):
    """Conditions for a completed reading of live material, by an active member whose branch should read it."""
    return [Reading.completed_at.isnot(None), Reading.day >= start, Reading.day <= end,
            Material.status == "published", Member.active.is_(True), _in_audience(Reading.material_id,
                                                                                 Member.branch_id)]


def completion_stmt(branch_ids, start, end):
    """A select of per-branch completion over [start, end] for branch ids (a list or a select).

    A single day or a whole ISO week reads the rollups (learning/rollups.py); any other range counts readings.
    """
    week_start = clock.week_monday(end)
    if start == end or (start, end) == (week_start, week_start + timedelta(days=6)):
        return rollup_completion_stmt(branch_ids, start, end)
    return scratch_completion_stmt(branch_ids, start, end)


def due_material(start, end, today=None):
    """Conditions for material that is due in [start, end]: published, and its day has come (Asia/Shanghai).

    The one definition of what members should have studied: the rate's `expected`, a member's `total`, and who is
    behind all count only these items, so on a Wednesday the week's Thursday–Sunday items count nowhere yet.
    """
    return [Material.status == "published", Material.day >= start, Material.day <= min(end, today or clock.today())]


def _members_and_materials(branch_ids, start, end):
    members = (select(Member.branch_id.label("b"), func.count().label("n"))
               .where(Member.active.is_(True), Member.branch_id.in_(branch_ids))
               .group_by(Member.branch_id).subquery())
    materials = (select(MaterialAudience.branch_id.label("b"), func.count().label("n"))
                 .join(Material, Material.id == MaterialAudience.material_id)
                 .where(*due_material(start, end), MaterialAudience.branch_id.in_(branch_ids))
                 .group_by(MaterialAudience.branch_id).subquery())
    return members, materials


def rollup_completion_stmt(branch_ids, start, end):
    """completion_stmt for one day or one ISO week, from the per-branch day and week rollups."""
    week_start = clock.week_monday(end)
    members, materials = _members_and_materials(branch_ids, start, end)
    days = (select(ReadingDayRollup.branch_id.label("b"), func.sum(ReadingDayRollup.completed).label("done"),
                   func.sum(ReadingDayRollup.readers).label("who"))
            .where(ReadingDayRollup.branch_id.in_(branch_ids), ReadingDayRollup.day >= start,
                   ReadingDayRollup.day <= end)
            .group_by(ReadingDayRollup.branch_id).subquery())
    week = (select(ReadingWeekRollup.branch_id.label("b"), ReadingWeekRollup.readers.label("who"))
            .where(ReadingWeekRollup.branch_id.in_(branch_ids), ReadingWeekRollup.monday == week_start).subquery())
    # One day: who studied that day is the day's readers; a week: the week's distinct readers.
    studied = days.c.who if start == end else week.c.who
    n_members = func.coalesce(members.c.n, 0)
    return (select(Branch.id.label("branch_id"), Branch.name.label("branch_name"), n_members.label("members"),
                   func.coalesce(materials.c.n, 0).label("materials"),
                   func.coalesce(days.c.done, 0).label("completed"),
                   func.coalesce(studied, 0).label("studied_members"),
                   (n_members - func.coalesce(week.c.who, 0)).label("idle_week_members"))
            .outerjoin(members, members.c.b == Branch.id).outerjoin(materials, materials.c.b == Branch.id)
            .outerjoin(days, days.c.b == Branch.id).outerjoin(week, week.c.b == Branch.id)
            .where(Branch.id.in_(branch_ids)).order_by(Branch.id))


def scratch_completion_stmt(branch_ids, start, end):
    """completion_stmt counted from the readings themselves (any range; the reference for the rollups)."""
    week_start = clock.week_monday(end)
    week_end = week_start + timedelta(days=6)
    members, materials = _members_and_materials(branch_ids, start, end)
    reads = (select(Member.branch_id.label("b"), func.count(Reading.id).label("done"),
                    func.count(distinct(Reading.member_id)).label("who"))
             .join(Member, Member.id == Reading.member_id).join(Material, Material.id == Reading.material_id)
             .where(Member.branch_id.in_(branch_ids), *_completed_reads(start, end))
             .group_by(Member.branch_id).subquery())
    if (start, end) == (week_start, week_end):
        week = reads  # the period is the week: who studied in it is already counted, no second scan
    else:
        week = (select(Member.branch_id.label("b"), func.count(distinct(Reading.member_id)).label("who"))
                .join(Member, Member.id == Reading.member_id).join(Material, Material.id == Reading.material_id)
                .where(Member.branch_id.in_(branch_ids), *_completed_reads(week_start, week_end))
                .group_by(Member.branch_id).subquery())
    n_members = func.coalesce(members.c.n, 0)
    stmt = (select(Branch.id.label("branch_id"), Branch.name.label("branch_name"), n_members.label("members"),
                   func.coalesce(materials.c.n, 0).label("materials"),
                   func.coalesce(reads.c.done, 0).label("completed"),
                   func.coalesce(reads.c.who, 0).label("studied_members"),
                   (n_members - func.coalesce(week.c.who, 0)).label("idle_week_members"))
            .outerjoin(members, members.c.b == Branch.id).outerjoin(materials, materials.c.b == Branch.id)
            .outerjoin(reads, reads.c.b == Branch.id))
    if week is not reads:
        stmt = stmt.outerjoin(week, week.c.b == Branch.id)
    return stmt.where(Branch.id.in_(branch_ids)).order_by(Branch.id)


def _row(row):
    return _dict_row(dict(row._mapping))


def _dict_row(data):
    data["expected"] = data["members"] * data["materials"]
    data["rate"] = round(data["completed"] / data["expected"], 4) if data["expected"] else None
    return data


def branch_reading_completion(branch_ids, start, end):
    """Per-branch completion over [start, end] local days for a set of branches, in one query."""
    return [_row(r) for r in db.session.execute(completion_stmt(branch_ids, start, end))]


def branch_reading_summary(branch_ids, week_key):
    """Per-branch completion for an ISO week ('2026-W48'): for digests and dashboards."""
    monday = clock.monday_of_week_key(week_key)
    return branch_reading_completion(branch_ids, monday, monday + timedelta(days=6))


def committee_reading(branch_ids, start, end, page, per_page):
    """A page of per-branch completion, plus the committee-wide total."""
    # One statement: the page and the total come from the same per-branch rows (at most a few thousand
    # small tuples), instead of running the aggregate once for the page and again for the total.
    result = db.session.execute(completion_stmt(branch_ids, start, end))
    names = list(result.keys())
    rows = result.all()
    count = len(rows)
    # By position: summing 5,000 rows unpacked as tuples costs little next to named access on each Row.
    _, _, n_members, n_materials, n_completed, n_studied, n_idle = zip(*rows) if rows else ((),) * 7
    members, completed, studied, idle = sum(n_members), sum(n_completed), sum(n_studied), sum(n_idle)
    expected = sum(m * n for m, n in zip(n_members, n_materials))
    materials = max(n_materials, default=0)
    items = [_dict_row(dict(zip(names, r))) for r in rows[(page - 1) * per_page:page * per_page]]
    total = {"branch_id": None, "branch_name": "合计", "members": members, "materials": materials,
             "expected": expected, "completed": completed,
             "rate": round(completed / expected, 4) if expected else None, "studied_members": studied,
             "idle_week_members": idle}
    return {"items": items, "total": total, "page": page, "per_page": per_page, "branches": count}


def branch_reading_detail(branch, start, end):
    """One branch over [start, end]: per-material counts, who studied what, who studied nothing this week."""
    summary = branch_reading_completion([branch.id], start, end)[0]
    active = select(Member.id).where(Member.branch_id == branch.id, Member.active.is_(True))
    live = (select(Material.id).join(MaterialAudience, and_(MaterialAudience.material_id == Material.id,
                                                            MaterialAudience.branch_id == branch.id))
            .where(*due_material(start, end)))
    done = and_(Reading.material_id == Material.id, Reading.completed_at.isnot(None), Reading.member_id.in_(active))
    materials = [{"id": mid, "title": title, "day": day, "audience_members": summary["members"], "completed": n}
                 for mid, title, day, n in db.session.execute(
                     select(Material.id, Material.title, Material.day, func.count(Reading.id))
                     .outerjoin(Reading, done).where(Material.id.in_(live))
                     .group_by(Material.id, Material.title, Material.day).order_by(Material.day, Material.id))]
    studied = {}
    for member_id, material_id, seconds in db.session.execute(
            select(Reading.member_id, Reading.material_id, Reading.seconds)
            .where(Reading.member_id.in_(active), Reading.material_id.in_(live), Reading.completed_at.isnot(None))):
        entry = studied.setdefault(member_id, {"ids": [], "seconds": 0})
        entry["ids"].append(material_id)
        entry["seconds"] += seconds
    people = db.session.execute(select(Member.id, Member.name).where(Member.id.in_(active))
                                .order_by(Member.name, Member.id)).all()
    members = [{"id": mid, "name": name, "completed": len(studied.get(mid, {}).get("ids", [])),
                "total": len(materials), "seconds": studied.get(mid, {}).get("seconds", 0),
                "material_ids": sorted(studied.get(mid, {}).get("ids", []))} for mid, name in people]
    week_start = clock.week_monday(end)
    week_readers = (select(Reading.member_id).join(Material, Material.id == Reading.material_id)
                    .join(Member, Member.id == Reading.member_id)
                    .where(Member.branch_id == branch.id,
                        *_completed_reads(week_start, week_start + timedelta(days=6))))
    idle = [{"id": mid, "name": name} for mid, name in db.session.execute(
        select(Member.id, Member.name).where(Member.id.in_(active), Member.id.not_in(week_readers))
        .order_by(Member.name, Member.id))]
    return {"start": start, "end": end, "week_key": clock.week_key(start), "summary": summary,
            "materials": materials, "members": members, "idle_this_week": idle}


def members_behind_reading(start, end, branch_id=None):
    """A select of active members' ids who have not studied every item due to their branch in [start, end].

    Due is due_material's: published and its day come. This is the group a reading reminder reaches and the
    console's 本周学习未完成 card lists (notifications.services.reminder_audience asks it for both).
    """
    due = (select(MaterialAudience.branch_id.label("b"), func.count().label("n"))
           .join(Material, Material.id == MaterialAudience.material_id)
           .where(*due_material(start, end)).group_by(MaterialAudience.branch_id).subquery())
    done = (select(Reading.member_id.label("m"), func.count().label("n"))
            .join(Member, Member.id == Reading.member_id).join(Material, Material.id == Reading.material_id)
            .where(*_completed_reads(start, end), *due_material(start, end))
            .group_by(Reading.member_id).subquery())
    stmt = (select(Member.id).join(due, due.c.b == Member.branch_id).outerjoin(done, done.c.m == Member.id)
            .where(Member.active.is_(True), func.coalesce(done.c.n, 0) < due.c.n))
    if branch_id is not None:
        stmt = stmt.where(Member.branch_id == branch_id)
    return stmt
