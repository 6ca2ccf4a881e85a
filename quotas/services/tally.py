"""The tally: a member's progress against the year's quotas, the branch board, its exports and postings (公示)."""
from sqlalchemy import select

from core import audit, clock
from core.db import inserted
from core.errors import NotFound
from core.extensions import db
from core.tables import download, to_csv, to_xlsx
from members.models import Branch
from quotas import rules, stats
from quotas.models import SCHEDULED_LABEL, STATUS_LABELS, Attendance, Exchange, ExchangeSpeaker, QuotaPosting
from quotas.services.books import member_books
from quotas.services.exchanges import _held
from quotas.stats import committee_policy, effective_policy


def member_progress(member, year):
    """A member's counts against their quotas, every record with its status, and their pace today."""
    policy = (effective_policy(member.branch, year) if member.branch is not None
              else committee_policy(member.committee_id, year))
    counts = stats.member_counts(member.id, year)
    verdict = rules.pace(counts, policy, year, clock.today())
    talks = db.session.scalars(
        select(Exchange).join(ExchangeSpeaker, ExchangeSpeaker.exchange_id == Exchange.id)
        .where(ExchangeSpeaker.member_id == member.id, Exchange.year == year).order_by(Exchange.starts_at)).all()
    attended = db.session.execute(
        select(Exchange, Attendance).join(Attendance, Attendance.exchange_id == Exchange.id)
        .where(Attendance.member_id == member.id, Exchange.year == year).order_by(Exchange.starts_at)).all()
    books = db.session.scalars(member_books(member, year)).all()
    talks = [_exchange_record(e) for e in talks]
    attended = [{**_exchange_record(e), "via": a.via, "recorded_at": a.recorded_at} for e, a in attended]
    return {
        "member": {"id": member.id, "name": member.name}, "year": year, "policy": policy,
        "given": counts["talks"], "attended": counts["attends"], "read": counts["books"],
        "complete": verdict["complete"], "pace": verdict["status"], "months_elapsed": verdict["months_elapsed"],
        "items": verdict["items"],
        "given_scheduled": sum(1 for t in talks if t["status_label"] == SCHEDULED_LABEL),
        "attended_scheduled": sum(1 for a in attended if a["status_label"] == SCHEDULED_LABEL),
        "talks": talks, "attendance": attended,
        "books": books,
    }


def _exchange_record(exchange):
    held = _held(exchange)
    scheduled = exchange.status == "approved" and not held
    return {"exchange_id": exchange.id, "title": exchange.title, "starts_at": exchange.starts_at,
            "ends_at": exchange.ends_at, "status": exchange.status, "held": held,
            "status_label": SCHEDULED_LABEL if scheduled else STATUS_LABELS[exchange.status],
            "counts": exchange.status == "approved" and held}


# --- the board, exports and postings ----------------------------------------------------------------


BOARD_HEADERS = ("姓名", "党小组", "交流发言（次）", "参加交流（次）", "阅读书籍（本）", "是否完成")


def export_board(branch, year, kind):
    """The branch tally as a CSV (UTF-8 with BOM) or XLSX download with Chinese headers."""
    tally = stats.branch_tally(branch.id, year)
    rows = [(m["name"], m["group"] or "", m["given"], m["attended"], m["read"], "已完成" if m["complete"] else "未完成")
            for m in tally["members"]]
    filename = f"{branch.name}_{year}年1+4+1完成情况.{kind}"
    body = to_csv(BOARD_HEADERS, rows) if kind == "csv" else to_xlsx(BOARD_HEADERS, rows, title=f"{year}年1+4+1")
    return download(body, filename, kind)


def post_tally(branch, actor=None, year=None):
    """Post (公示) this month's tally of a branch, frozen; → (posting, created), the first one on a repeat."""
    now = clock.local_now()
    year = year or now.year
    period = f"{now.year}-{now.month:02d}"
    existing = _posting(branch.id, year, period)
    if existing is not None:
        return existing, False
    tally = stats.branch_tally(branch.id, year)
    posting = QuotaPosting(branch_id=branch.id, year=year, period=period, posted_at=clock.now(),
                           posted_by_id=getattr(actor, "id", None), policy=tally["policy"], rows=tally["members"],
                           member_count=tally["member_count"], complete_count=tally["complete_count"])
    if not inserted(posting):  # two secretaries (or the scheduler) posting the same month at once
        return _posting(branch.id, year, period), False
    if actor is not None:
        audit.record(actor, "quota.post", "branch", branch.id, year=year, period=period, posting_id=posting.id)
    db.session.commit()
    return posting, True


def _posting(branch_id, year, period):
    return db.session.scalar(select(QuotaPosting).where(QuotaPosting.branch_id == branch_id,
                                                        QuotaPosting.year == year, QuotaPosting.period == period))


def post_all_branches(year=None):
    """Post this month's tally for every branch (for the scheduler's monthly job); returns how many were new."""
    created = 0
    for branch_id in db.session.scalars(select(Branch.id).order_by(Branch.id)).all():
        _, new = post_tally(db.session.get(Branch, branch_id), None, year)
        created += int(new)
    return created


def list_postings(branch, year=None):
    """A select of a branch's postings, newest first."""
    stmt = select(QuotaPosting).where(QuotaPosting.branch_id == branch.id)
    if year:
        stmt = stmt.where(QuotaPosting.year == year)
    return stmt.order_by(QuotaPosting.posted_at.desc(), QuotaPosting.id.desc())


def posting_for(branch, posting_id):
    """Load one posting of a branch; 404 if it belongs elsewhere."""
    posting = db.session.get(QuotaPosting, posting_id)
    if posting is None or posting.branch_id != branch.id:
        raise NotFound()
    return posting
