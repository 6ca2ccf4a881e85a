"""The overview's figures, asked of learning, quizzes and quotas through their stats: a few aggregate queries each."""
import json
from datetime import timedelta

from flask import current_app
from sqlalchemy import Float, case, cast, func, select

from core import clock
from core.cache import best_effort, get_redis, key
from core.extensions import db
from learning.stats import committee_reading, completion_stmt
from members.models import Branch, Member
from members.scope import managed_branch_ids, owner_for
from notifications.models import Notification
from notifications.services import reminder_audience
from quizzes.services import list_quizzes, quiz_for_branch, scoped_branch_ids
from quizzes.stats import branch_quiz_summary, overall_stats
from quotas import stats as quota_stats
from quotas.stats import branches_completion, committee_completion

WEEKS = 12


def week_days(week_key):
    """Monday and Sunday of an ISO week."""
    # The whole ISO week: learning counts only the material whose day has come (learning.stats.due_material).
    monday = clock.monday_of_week_key(week_key)
    return monday, monday + timedelta(days=6)


def recent_weeks(today=None, count=WEEKS):
    """The ISO week keys of the last `count` weeks, oldest first, ending with today's."""
    today = today or clock.today()
    return [clock.week_key(today - timedelta(weeks=i)) for i in reversed(range(count))]


def reading_week(branch_ids, week_key):
    """Reading completion of a set of branches in one week: {rate, completed, expected, idle}."""
    start, end = week_days(week_key)
    total = committee_reading(branch_ids, start, end, 1, 1)["total"]
    return {"rate": total["rate"], "completed": total["completed"], "expected": total["expected"],
            "members": total["members"], "idle": total["idle_week_members"]}


def _scoped_quizzes(member, week_key, branch_id=None):
    for quiz in db.session.scalars(list_quizzes(member, week_key)).all():
        ids = scoped_branch_ids(member, quiz)
        if branch_id is not None:
            ids = ids.where(Branch.id == branch_id)
        yield quiz, ids


def quiz_week(member, week_key, branch_id=None):
    """Participation, average and pass rate over every quiz of a week in the member's scope (one branch if given)."""
    audience = submitted = passed = 0
    score_sum = 0.0
    quizzes = []
    for quiz, ids in _scoped_quizzes(member, week_key, branch_id):
        row = overall_stats(quiz, ids)
        if not row["audience"] and not row["submitted"]:
            continue
        quizzes.append(quiz)
        audience += row["audience"]
        submitted += row["submitted"]
        passed += round((row["pass_rate"] or 0) * row["submitted"])
        score_sum += (row["average_score"] or 0) * row["submitted"]
    return {"quizzes": quizzes, "audience": audience, "submitted": submitted,
            "participation": round(min(submitted / audience, 1.0), 4) if audience else None,
            "average": round(score_sum / submitted, 1) if submitted else None,
            "pass_rate": round(passed / submitted, 4) if submitted else None}


def quota_year(member, year, branch=None):
    """1+4+1 completion for the year: one branch's, or every branch in an admin's subtree."""
    if branch is not None:
        tally = quota_stats.branch_tally(branch.id, year)
        return {"members": tally["member_count"], "complete": tally["complete_count"],
                "rate": tally["completion_rate"] if tally["member_count"] else None}
    rows = quota_rows(member, year)
    members = sum(r["member_count"] for r in rows)
    complete = sum(r["complete_count"] for r in rows)
    return {"members": members, "complete": complete, "rate": round(complete / members, 4) if members else None}


def quota_rows(member, year):
    """Per-branch 1+4+1 completion in the member's scope."""
    committee, branch = owner_for(member)
    rows = committee_completion(committee, year)
    return rows if branch is None else [r for r in rows if r["branch_id"] == branch.id]


def series(member, branch_ids, weeks, branch_id=None, current=None):
    """The last weeks' reading completion, quiz participation and pass rate, for the charts.

    `current` is this week's figures already computed for the cards ({"reading", "quiz"}): the last point reuses
    them, and the earlier weeks come from a short-lived Redis copy (see past_series).
    """
    past = past_series(member, branch_ids, weeks[:-1], branch_id)
    if current is None:
        current = {"reading": reading_week(branch_ids, weeks[-1]), "quiz": quiz_week(member, weeks[-1], branch_id)}
    return {"weeks": weeks, "reading": past["reading"] + [current["reading"]["rate"]],
            "participation": past["participation"] + [current["quiz"]["participation"]],
            "pass_rate": past["pass_rate"] + [current["quiz"]["pass_rate"]],
            "average": past["average"] + [current["quiz"]["average"]]}


def _series_key(member, weeks, branch_id):
    # The scope is in the key (role, committee, branch) so a member who changes role never sees the old scope's copy.
    return key("console", "series", member.id, member.role, member.committee_id, member.branch_id,
               branch_id or "all", weeks[0] if weeks else "-", weeks[-1] if weeks else "-")


def past_series(member, branch_ids, weeks, branch_id=None):
    """Finished weeks' figures, cached in Redis for CONSOLE_SERIES_TTL seconds (cleared by nothing but the TTL).

    learning and quizzes offer per-week figures only (1 + 3 per quiz queries a week), so a cold page asks them week by
    week and every page for the next few minutes reads one key. Finished weeks hardly change — a reading counts on
    the day it was done and a past week's quiz is closed — so a copy a few minutes old is exact in practice.
    """
    cache_key = _series_key(member, weeks, branch_id)
    redis, cached = get_redis(), None
    with best_effort("console series cache unavailable"):  # Redis down: the page is slower, not broken
        cached = redis.get(cache_key)
    if cached:
        return json.loads(cached)
    data = {"reading": [], "participation": [], "pass_rate": [], "average": []}
    for week in weeks:
        data["reading"].append(reading_week(branch_ids, week)["rate"])
        quiz = quiz_week(member, week, branch_id)
        data["participation"].append(quiz["participation"])
        data["pass_rate"].append(quiz["pass_rate"])
        data["average"].append(quiz["average"])
    with best_effort("console series cache unavailable"):
        redis.set(cache_key, json.dumps(data), ex=current_app.config.get("CONSOLE_SERIES_TTL", 300))
    return data


def overview(member, branch=None):
    """Everything the overview (or a branch page) shows: this week's cards, the year's 1+4+1, the 12-week series."""
    today = clock.today()
    week = clock.week_key(today)
    if branch is not None:
        branch_ids = select(Branch.id).where(Branch.id == branch.id)
    else:
        branch_ids = managed_branch_ids(member)
    branch_id = branch.id if branch is not None else None
    current = {"reading": reading_week(branch_ids, week), "quiz": quiz_week(member, week, branch_id)}
    return {
        "week": week, "today": today, "year": today.year, **current,
        "quota": quota_year(member, today.year, branch),
        "series": series(member, branch_ids, recent_weeks(today), branch_id, current),
    }


RANKING_SORTS = {"reading": "学习完成率从高到低", "reading_asc": "学习完成率从低到高", "name": "支部名称",
                 "members": "党员人数"}
RANKING_PER_PAGE = 50


def branch_ranking(member, sort="reading", page=1, per_page=RANKING_PER_PAGE):
    """One page of the branches in an admin's scope with this week's figures and the year's 1+4+1.

    The database sorts and pages the reading completion of every branch (learning's per-branch select, wrapped);
    quiz and 1+4+1 figures are then asked for the page's branches only. → {items, total, page, per_page, sort}.
    """
    today = clock.today()
    week = clock.week_key(today)
    start, end = week_days(week)
    scoped = managed_branch_ids(member)
    rows = completion_stmt(scoped, start, end).order_by(None).subquery()
    expected = rows.c.members * rows.c.materials
    rate = case((expected > 0, cast(rows.c.completed, Float) / expected), else_=None)
    order = {
        "reading": [func.coalesce(rate, -1.0).desc()],  # branches with nothing to read sort last either way
        "reading_asc": [func.coalesce(rate, 2.0).asc()],
        "name": [],
        "members": [rows.c.members.desc()],
    }[sort]
    total = db.session.scalar(select(func.count()).select_from(Branch).where(Branch.id.in_(scoped)))
    page_rows = db.session.execute(
        select(rows.c.branch_id, rows.c.branch_name, rows.c.members, rows.c.materials, rows.c.completed)
        .order_by(*order, rows.c.branch_name, rows.c.branch_id)
        .limit(per_page).offset((page - 1) * per_page)).all()
    items = [{"branch_id": r.branch_id, "name": r.branch_name, "members": r.members,
              "reading": round(r.completed / (r.members * r.materials), 4) if r.members * r.materials else None,
              "participation": None, "pass_rate": None, "average": None, "quota": None} for r in page_rows]
    by_id = {r["branch_id"]: r for r in items}
    if by_id:
        for r in branch_quiz_summary(list(by_id), week):
            by_id[r["branch_id"]].update(participation=r["participation_rate"], pass_rate=r["pass_rate"],
                                         average=r["average_score"])
        for branch_id, (members, complete) in branches_completion(list(by_id), today.year).items():
            by_id[branch_id]["quota"] = round(complete / members, 4) if members else None
    return {"items": items, "total": total, "page": page, "per_page": per_page, "sort": sort}


def behind(branch, kinds):
    """Who in a branch each 一键提醒 kind would reach now: notifications' reminder_audience, the group it reminds."""
    return {**{kind: reminder_audience(branch, kind) for kind in kinds}, "quiz_obj": quiz_for_branch(branch)}


def recent_reminders(branch, limit=20):
    """The latest reminders written for a branch's members (the outbox is also their inbox)."""
    return db.session.execute(
        select(Notification.id, Notification.kind, Notification.title, Notification.status,
               Notification.created_at, Member.name)
        .join(Member, Member.id == Notification.member_id)
        .where(Member.branch_id == branch.id, Notification.kind.like("reminder_%"))
        .order_by(Notification.id.desc()).limit(limit)).all()
