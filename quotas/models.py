"""1+4+1: policies, exchanges with speakers and attendance, book reports, and frozen monthly postings."""
from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text

from core import clock
from core.db import BigId, UTCDateTime
from core.extensions import db

STATUSES = ("pending", "approved", "rejected")
# An exchange can also be cancelled (or, while pending, withdrawn by its proposer); a book report cannot.
EXCHANGE_STATUSES = STATUSES + ("cancelled",)
STATUS_LABELS = {"pending": "待审核", "approved": "已通过", "rejected": "已退回", "cancelled": "已取消"}
# An approved exchange whose end has not passed yet: it is on the calendar but counts for nobody so far.
SCHEDULED_LABEL = "已安排"
UNSETTLED = text("status = 'approved' AND settled_at IS NULL")
ATTENDANCE_VIA = ("checkin", "secretary")


class QuotaPolicy(db.Model):
    """A committee's quotas for one year (talks given / exchanges attended / books read)."""

    __tablename__ = "quota_policies"
    __table_args__ = (UniqueConstraint("committee_id", "year"),
                      CheckConstraint("talks >= 0 AND attends >= 0 AND books >= 0", name="non_negative"))
    id = db.Column(db.Integer, primary_key=True)
    committee_id = db.Column(db.Integer, db.ForeignKey("committees.id"), nullable=False)
    year = db.Column(db.Integer, nullable=False)
    talks = db.Column(db.Integer, nullable=False)
    attends = db.Column(db.Integer, nullable=False)
    books = db.Column(db.Integer, nullable=False)
    updated_by_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)


class BranchQuotaPolicy(db.Model):
    """A branch's override of its committee's quotas for one year."""

    __tablename__ = "quota_branch_policies"
    __table_args__ = (UniqueConstraint("branch_id", "year"),
                      CheckConstraint("talks >= 0 AND attends >= 0 AND books >= 0", name="non_negative"))
    id = db.Column(db.Integer, primary_key=True)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), nullable=False)
    year = db.Column(db.Integer, nullable=False)
    talks = db.Column(db.Integer, nullable=False)
    attends = db.Column(db.Integer, nullable=False)
    books = db.Column(db.Integer, nullable=False)
    updated_by_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)


class Exchange(db.Model):
    """A professional/technical exchange (专业技术交流), hosted by a branch, optionally open to its committee."""

    __tablename__ = "quota_exchanges"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'cancelled')", name="status_known"),
        CheckConstraint("ends_at > starts_at", name="window_ordered"),
        CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancel_recorded"),
        # The same title at the same time in the same branch is one exchange: a retried POST cannot make two.
        UniqueConstraint("branch_id", "starts_at", "title"),
        Index("ix_quota_exchanges_branch_year", "branch_id", "year"),
        Index("ix_quota_exchanges_committee_year", "committee_id", "year"),
        Index("ix_quota_exchanges_year_status", "year", "status"),
        # The settle job's work list: approved exchanges not yet paid out, by when they end.
        Index("ix_quota_exchanges_unsettled", "ends_at", postgresql_where=UNSETTLED, sqlite_where=UNSETTLED),
    )
    id = db.Column(db.Integer, primary_key=True)
    committee_id = db.Column(db.Integer, db.ForeignKey("committees.id"), nullable=False)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), nullable=False)
    # The Asia/Shanghai year of starts_at, kept as a column so yearly tallies filter on an index.
    year = db.Column(db.Integer, nullable=False)
    title = db.Column(db.String(200), nullable=False)
    starts_at = db.Column(UTCDateTime, nullable=False)
    ends_at = db.Column(UTCDateTime, nullable=False)
    place = db.Column(db.String(200), nullable=True)
    online_url = db.Column(db.String(500), nullable=True)
    summary = db.Column(db.Text, nullable=False, default="")
    guest_speakers = db.Column(db.String(200), nullable=True)
    shared = db.Column(db.Boolean, nullable=False, default=False)
    status = db.Column(db.String(16), nullable=False, default="pending")
    reject_reason = db.Column(db.String(500), nullable=True)
    proposed_by_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    created_by_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False)
    reviewed_by_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    reviewed_at = db.Column(UTCDateTime, nullable=True)
    # What it was when cancelled: one cancelled after approval stays visible to its audience, a withdrawn proposal not.
    cancelled_from = db.Column(db.String(16), nullable=True)
    cancelled_at = db.Column(UTCDateTime, nullable=True)
    cancelled_by_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    cancel_reason = db.Column(db.String(200), nullable=True)
    # When the talks and attendance of this held exchange were paid (the settle job, or the first action after its
    # end); each payment is also keyed in the ledger, so paying again is a no-op.
    settled_at = db.Column(UTCDateTime, nullable=True)
    # Salt of the derived check-in code: the code itself is never stored.
    checkin_salt = db.Column(db.String(32), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)

    branch = db.relationship("Branch", lazy="joined")
    speakers = db.relationship("ExchangeSpeaker", lazy="selectin", cascade="all, delete-orphan",
                               order_by="ExchangeSpeaker.id")


class ExchangeSpeaker(db.Model):
    """A member who gives the talk: it counts toward their "give 1"."""

    __tablename__ = "quota_exchange_speakers"
    __table_args__ = (UniqueConstraint("exchange_id", "member_id"),)
    id = db.Column(db.Integer, primary_key=True)
    exchange_id = db.Column(db.Integer, db.ForeignKey("quota_exchanges.id"), nullable=False)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False, index=True)
    member = db.relationship("Member", lazy="joined")


class Attendance(db.Model):
    """One member present at one exchange, by phone check-in or marked by the secretary; never twice."""

    __tablename__ = "quota_attendances"
    __table_args__ = (UniqueConstraint("exchange_id", "member_id"),
                      CheckConstraint("via IN ('checkin', 'secretary')", name="via_known"))
    id = db.Column(BigId, primary_key=True)
    exchange_id = db.Column(db.Integer, db.ForeignKey("quota_exchanges.id"), nullable=False)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False, index=True)
    via = db.Column(db.String(16), nullable=False)
    recorded_by_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    recorded_at = db.Column(UTCDateTime, nullable=False, default=clock.now)


class BookReport(db.Model):
    """A member's report of a professional book read, with a reflection (读书心得), for the secretary to approve."""

    __tablename__ = "quota_book_reports"
    __table_args__ = (
        # One report per book per member per year: "the same book twice in a year counts once".
        UniqueConstraint("member_id", "year", "book_key"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        Index("ix_quota_book_reports_status_submitted", "status", "submitted_at"),
    )
    id = db.Column(BigId, primary_key=True)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False)
    year = db.Column(db.Integer, nullable=False)
    title = db.Column(db.String(200), nullable=False)
    author = db.Column(db.String(100), nullable=False)
    isbn = db.Column(db.String(13), nullable=True)
    book_key = db.Column(db.String(320), nullable=False)
    finished_on = db.Column(db.Date, nullable=False)
    reflection = db.Column(db.Text, nullable=False)
    status = db.Column(db.String(16), nullable=False, default="pending")
    reject_reason = db.Column(db.String(500), nullable=True)
    revisions = db.Column(db.Integer, nullable=False, default=0)
    submitted_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    reviewed_by_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    reviewed_at = db.Column(UTCDateTime, nullable=True)

    member = db.relationship("Member", lazy="joined", foreign_keys=[member_id])


class QuotaPosting(db.Model):
    """A month's tally as posted (公示) to the branch, frozen so members can look back at exactly what was shown."""

    __tablename__ = "quota_postings"
    __table_args__ = (UniqueConstraint("branch_id", "year", "period"),)
    id = db.Column(db.Integer, primary_key=True)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), nullable=False)
    year = db.Column(db.Integer, nullable=False)
    period = db.Column(db.String(7), nullable=False)  # the local month posted in, "2026-11"
    posted_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    posted_by_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    policy = db.Column(db.JSON, nullable=False)
    rows = db.Column(db.JSON, nullable=False)
    member_count = db.Column(db.Integer, nullable=False)
    complete_count = db.Column(db.Integer, nullable=False)
