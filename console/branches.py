"""A branch's desk work: this week's reading as a file, who is behind and the 一键提醒, book reports to review, and the
year's 1+4+1 tally with its exports and monthly postings. The verbs are learning's, notifications' and quotas'."""
from flask import flash, redirect, render_template, request, url_for

from console import stats
from console.desk import act, bp, console_login, me, year_arg
from core import clock
from core.errors import Invalid
from core.extensions import db
from learning.services import export_reading
from members import scope
from notifications.services import remind_branch
from quotas.models import BookReport
from quotas.services import book_for, branch_books, export_board, list_postings, post_tally, posting_for
from quotas.services import review_book as review_report
from quotas.stats import branch_tally

REMINDER_KINDS = {"reading": "学习", "quiz": "测验", "quota": "1+4+1"}


def _export_kind():
    """The export format asked for (`kind`, default xlsx); anything but csv or xlsx is refused."""
    kind = request.args.get("kind", "xlsx")
    if kind not in ("csv", "xlsx"):
        raise Invalid("导出格式应为 csv 或 xlsx")
    return kind


@bp.get("/branches/<int:branch_id>/reading/export")
@console_login
def reading_export(branch_id):
    """Download this week's reading completion as CSV or XLSX (learning's export, the figures of the card)."""
    branch = scope.branch_for(me(), branch_id)
    kind = _export_kind()
    start, end = stats.week_days(clock.week_key())
    return export_reading(branch, start, end, kind)


# --- who is behind, 一键提醒 ---------------------------------------------------------------------------

@bp.get("/branches/<int:branch_id>/behind")
@console_login
def behind(branch_id):
    """Who is behind this week, with a 一键提醒 per kind, and the reminders already sent."""
    branch = scope.branch_for(me(), branch_id)
    return render_template("console/behind.html", branch=branch, behind=stats.behind(branch, REMINDER_KINDS),
                           kinds=REMINDER_KINDS, reminders=stats.recent_reminders(branch))


@bp.post("/branches/<int:branch_id>/remind")
@console_login
def remind(branch_id):
    """Remind the members behind on one kind (the notifications room's 一键提醒)."""
    branch = scope.branch_for(me(), branch_id)
    kind = request.form.get("kind")
    if kind not in REMINDER_KINDS:
        raise Invalid("未知的提醒类型")
    result = remind_branch(me(), branch, kind)
    label = REMINDER_KINDS[kind]
    if result["behind"] == 0:
        flash(f"{label}：没有需要提醒的党员。", "ok")
    else:
        extra = f"，{result['already_reminded']} 人今天已提醒过" if result["already_reminded"] else ""
        flash(f"{label}：已向 {result['reminded']} 人发送提醒{extra}。", "ok")
    return redirect(url_for("console.behind", branch_id=branch.id))


# --- books -----------------------------------------------------------------------------------------

@bp.get("/branches/<int:branch_id>/books")
@console_login
def books(branch_id):
    """The branch's book reports waiting for approval, and the latest reviewed."""
    branch = scope.branch_for(me(), branch_id)
    pending = db.session.scalars(branch_books(branch, status="pending")).all()
    reviewed = db.session.scalars(branch_books(branch).where(BookReport.status != "pending").order_by(None)
                                  .order_by(BookReport.reviewed_at.desc(), BookReport.id.desc()).limit(10)).all()
    return render_template("console/books.html", branch=branch, pending=pending, reviewed=reviewed)


@bp.post("/books/<int:report_id>/review")
@console_login
def review_book(report_id):
    """Approve or reject a book report (the quotas room's review)."""
    report = book_for(me(), report_id, manage=True)
    branch_id = report.member.branch_id
    approve = request.form.get("decision") == "approve"
    reason = (request.form.get("reason") or "").strip() or None
    act(lambda: review_report(me(), report, approve, reason), f"已{'通过' if approve else '退回'}《{report.title}》。")
    return redirect(url_for("console.books", branch_id=branch_id))


# --- 1+4+1 tally ---------------------------------------------------------------------------------------

@bp.get("/branches/<int:branch_id>/tally")
@console_login
def tally(branch_id):
    """The branch's 1+4+1 tally for a year, its exports and monthly postings."""
    branch = scope.branch_for(me(), branch_id)
    year = year_arg()
    postings = db.session.scalars(list_postings(branch, year).limit(12)).all()
    return render_template("console/tally.html", branch=branch, year=year, tally=branch_tally(branch.id, year),
                           postings=postings)


@bp.get("/branches/<int:branch_id>/tally/postings/<int:posting_id>")
@console_login
def tally_posting(branch_id, posting_id):
    """A past monthly posting's table, exactly as it was posted (frozen)."""
    branch = scope.branch_for(me(), branch_id)
    return render_template("console/posting.html", branch=branch, posting=posting_for(branch, posting_id))


@bp.get("/branches/<int:branch_id>/tally/export")
@console_login
def tally_export(branch_id):
    """Download the tally as CSV or XLSX."""
    branch = scope.branch_for(me(), branch_id)
    kind = _export_kind()
    return export_board(branch, year_arg(), kind)


@bp.post("/branches/<int:branch_id>/tally/post")
@console_login
def tally_post(branch_id):
    """Post (公示) this month's tally."""
    branch = scope.branch_for(me(), branch_id)
    posting, created = post_tally(branch, me())
    flash(f"已公示 {posting.period} 的完成情况。" if created else f"{posting.period} 已公示过，无需重复。", "ok")
    return redirect(url_for("console.tally", branch_id=branch.id))
