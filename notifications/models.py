"""The outbox (which is also each member's inbox), consents, preferences, branch robots and job runs."""
from sqlalchemy import Index, UniqueConstraint

from core import clock
from core.db import BigId, UTCDateTime
from core.extensions import db

# Delivery states of an outbox row. `pending` and `sending` (claimed; its lease ran out) are what senders
# claim. `calling` is committed just before the call to WeChat: if its lease runs out, the sender died during
# the call and WeChat may have delivered, so the row becomes `unconfirmed` (in the inbox, never sent again).
PENDING, SENDING, SENT, INBOX_ONLY, SKIPPED, DEAD = "pending", "sending", "sent", "inbox_only", "skipped", "dead"
CALLING, UNCONFIRMED = "calling", "unconfirmed"
STATUSES = (PENDING, SENDING, CALLING, SENT, UNCONFIRMED, INBOX_ONLY, SKIPPED, DEAD)
CLAIMABLE = (SENDING, PENDING)  # in the order a claim takes them: a lease that ran out is older than any pending row

CHANNEL_WECHAT, CHANNEL_WECOM = "wechat", "wecom"


class Notification(db.Model):
    """One notification: written in the transaction that caused it, pushed by a sender, read in the inbox.

    A member's notification (channel wechat) is always in their inbox; the push is the subscribe message.
    A branch robot's digest (channel wecom) has no member and goes to the branch's group chat.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("idem_key"),
        # The senders' claim: due rows in a claimable state, oldest first.
        Index("ix_notifications_status_due", "status", "next_attempt_at"),
        Index("ix_notifications_member_inbox", "member_id", "id"),
        Index("ix_notifications_member_unread", "member_id", "read_at"),
        Index("ix_notifications_committee_status", "committee_id", "status"),
    )
    id = db.Column(BigId, primary_key=True)
    idem_key = db.Column(db.String(160), nullable=False)
    kind = db.Column(db.String(32), nullable=False)
    channel = db.Column(db.String(16), nullable=False, default=CHANNEL_WECHAT)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), nullable=True)
    committee_id = db.Column(db.Integer, db.ForeignKey("committees.id"), nullable=True)
    title = db.Column(db.String(100), nullable=False)
    body = db.Column(db.Text, nullable=False, default="")
    payload = db.Column(db.JSON, nullable=False, default=dict)
    essential = db.Column(db.Boolean, nullable=False, default=False)
    status = db.Column(db.String(16), nullable=False, default=PENDING)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    next_attempt_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    lease_token = db.Column(db.String(32), nullable=True)
    last_error = db.Column(db.String(255), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    sent_at = db.Column(UTCDateTime, nullable=True)
    read_at = db.Column(UTCDateTime, nullable=True)


class SubscriptionConsent(db.Model):
    """How many one-time subscribe consents a member has left for a template (each allows one message)."""

    __tablename__ = "subscription_consents"
    __table_args__ = (UniqueConstraint("member_id", "template_id"),)
    id = db.Column(db.Integer, primary_key=True)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False)
    template_id = db.Column(db.String(64), nullable=False)
    remaining = db.Column(db.Integer, nullable=False, default=0)
    banned = db.Column(db.Boolean, nullable=False, default=False)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)


class SubscriptionReport(db.Model):
    """One wx.requestSubscribeMessage result the phone reported; its request_id makes a retried report count once."""

    __tablename__ = "subscription_reports"
    __table_args__ = (UniqueConstraint("member_id", "request_id"),)
    id = db.Column(BigId, primary_key=True)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False)
    request_id = db.Column(db.String(64), nullable=False)
    results = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)


class NotificationPreference(db.Model):
    """A member's choices: non-essential reminders on or off, and quiet hours (Asia/Shanghai wall clock)."""

    __tablename__ = "notification_preferences"
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), primary_key=True)
    reminders_enabled = db.Column(db.Boolean, nullable=False, default=True)
    quiet_enabled = db.Column(db.Boolean, nullable=False, default=True)
    quiet_start = db.Column(db.String(5), nullable=True)   # "HH:MM"; None means the configured default
    quiet_end = db.Column(db.String(5), nullable=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)


class BranchRobot(db.Model):
    """A branch's WeCom group robot. The webhook key is a secret: stored, used by senders, never returned."""

    __tablename__ = "branch_robots"
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), primary_key=True)
    webhook_key = db.Column(db.String(128), nullable=False)
    enabled = db.Column(db.Boolean, nullable=False, default=True)
    updated_by = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)


class JobRun(db.Model):
    """One run of a scheduled job for one period; the unique (job, period) makes re-runs and catch-ups run once."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period"),)
    id = db.Column(db.Integer, primary_key=True)
    job = db.Column(db.String(48), nullable=False)
    period = db.Column(db.String(48), nullable=False)
    status = db.Column(db.String(16), nullable=False, default="running")
    started_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    finished_at = db.Column(UTCDateTime, nullable=True)
    enqueued = db.Column(db.Integer, nullable=False, default=0)
