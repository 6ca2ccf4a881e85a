"""Book reports (读书): submitting, revising and reviewing one, and the lists of a branch and a member."""
from flask import current_app
from sqlalchemy import select

from core import audit, clock
from core.db import commit_or_conflict, inserted, lock_row
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.extensions import db
from learning import points
from members.models import Member
from members.scope import can_manage_branch
from quotas import rules
from quotas.models import BookReport
from quotas.services.exchanges import _require_reason


def book_for(viewer, report_id, manage=False):
    """Load a book report: its owner sees it; the secretary of the owner's branch (or an admin above) manages it."""
    report = db.session.get(BookReport, report_id)
    if report is None:
        raise NotFound()
    owner = report.member
    managing = owner.id != viewer.id and owner.branch is not None and can_manage_branch(viewer, owner.branch)
    if managing:
        return report
    if owner.id != viewer.id:
        raise NotFound()
    if manage:
        raise Forbidden("不能审核自己的读书报告")
    return report


def _book_fields(data):
    isbn = None
    if data.get("isbn"):
        isbn = rules.normalise_isbn(data["isbn"])
        if isbn is None:
            raise Invalid.field("ISBN 校验失败，请核对书号", "isbn", "ISBN-10 或 ISBN-13 校验位不正确",
                                code="isbn_invalid")
    minimum = current_app.config["QUOTA_REFLECTION_MIN_CHARS"]
    if rules.reflection_length(data["reflection"]) < minimum:
        raise Invalid.field(f"读书心得不少于 {minimum} 字", "reflection", f"不少于 {minimum} 字（不计空白）",
                            code="reflection_too_short")
    finished = data["finished_on"]
    today = clock.today()
    if finished > today:
        raise Invalid.field("读完日期不能晚于今天", "finished_on", "不能晚于今天")
    if finished.year < today.year - 1:
        raise Invalid.field("只能报告今年或去年读完的书", "finished_on", "年份过早")
    title, author = data["title"].strip(), data["author"].strip()
    return {"title": title, "author": author, "isbn": isbn, "finished_on": finished,
            "reflection": data["reflection"].strip(), "year": finished.year,
            "book_key": rules.book_key(title, author, isbn)}


def submit_book(member, data):
    """Report a book read; a retry of the same report returns it, the same book again this year is a conflict."""
    fields = _book_fields(data)
    existing = _same_book(member.id, fields["year"], fields["book_key"])
    if existing is not None:
        return _existing_book(existing, fields), False
    report = BookReport(member_id=member.id, status="pending", submitted_at=clock.now(), **fields)
    if not inserted(report, commit=True):  # the same report racing in twice from a flaky network
        existing = _same_book(member.id, fields["year"], fields["book_key"])
        return _existing_book(existing, fields), False
    return report, True


def _same_book(member_id, year, book_key):
    return db.session.scalar(select(BookReport).where(BookReport.member_id == member_id, BookReport.year == year,
                                                      BookReport.book_key == book_key))


def _existing_book(existing, fields):
    if existing.status == "pending" and all(getattr(existing, k) == v for k, v in fields.items()):
        return existing
    hint = "请修改被退回的报告后重新提交" if existing.status == "rejected" else "同一本书一年内只计一次"
    raise Conflict(f"本年度已报告过这本书，{hint}", code="book_already_reported",
                   details={"report_id": existing.id, "status": existing.status})


def revise_book(member, report, data):
    """Revise a pending or rejected report; it goes (back) to the secretary as pending."""
    if report.status == "approved":
        raise Conflict("已通过的读书报告不能修改", code="already_approved")
    fields = _book_fields(data)
    other = _same_book(member.id, fields["year"], fields["book_key"])
    if other is not None and other.id != report.id:
        raise Conflict("本年度已报告过这本书，同一本书一年内只计一次", code="book_already_reported",
                       details={"report_id": other.id, "status": other.status})
    for field, value in fields.items():
        setattr(report, field, value)
    if report.status == "rejected":
        report.revisions += 1
    report.status, report.submitted_at = "pending", clock.now()
    report.reviewed_by_id = report.reviewed_at = None
    commit_or_conflict(Conflict("本年度已报告过这本书，同一本书一年内只计一次", code="concurrent_update"))
    return report


def review_book(actor, report, approve, reason=None):
    """Approve a pending book report (it then counts, and earns points) or reject it with a reason; the member
    hears the result in their inbox (written in this transaction: a failed review tells nothing)."""
    # Against the rooms' arrows, imported here, as a quiz edit asks notifications (README, Layout).
    from notifications.services import notify_book_reviewed

    _require_reason(approve, reason)
    # Locked so two reviewers clicking at once cannot both pass the pending check.
    report = lock_row(BookReport, report.id)
    if report.status != "pending":
        raise Conflict("该读书报告不在待审核状态", code="already_reviewed", details={"status": report.status})
    report.status = "approved" if approve else "rejected"
    report.reject_reason = None if approve else reason
    report.reviewed_by_id, report.reviewed_at = actor.id, clock.now()
    if approve:
        points.award(report.member_id, "quota_book_read", f"quota:book:{report.id}",
                        meta={"book_report_id": report.id, "title": report.title})
    audit.record(actor, "quota.book_approve" if approve else "quota.book_reject", "book_report", report.id,
                 member_id=report.member_id, reason=reason)
    notify_book_reviewed(report)
    db.session.commit()
    return report


def branch_books(branch, status=None, year=None):
    """A select of the book reports of a branch's members (the approvals queue with status=pending)."""
    stmt = (select(BookReport).join(Member, Member.id == BookReport.member_id)
            .where(Member.branch_id == branch.id))
    if status:
        stmt = stmt.where(BookReport.status == status)
    if year:
        stmt = stmt.where(BookReport.year == year)
    return stmt.order_by(BookReport.submitted_at, BookReport.id)


def member_books(member, year=None):
    """A select of a member's own book reports."""
    stmt = select(BookReport).where(BookReport.member_id == member.id)
    if year:
        stmt = stmt.where(BookReport.year == year)
    return stmt.order_by(BookReport.submitted_at.desc(), BookReport.id.desc())
