"""Senders: claim due outbox rows under a lease, push them (WeChat subscribe message or WeCom robot), record.

Claiming takes `FOR UPDATE SKIP LOCKED` on the outbox table alone on PostgreSQL, so several senders share
the work; on SQLite the write lock (BEGIN IMMEDIATE) serialises claims and one sender is enough. A claimed
row is `sending` with its lease end in next_attempt_at: if the sender dies, the row is claimable again once
the lease runs out. Each outcome is written only while the sender still holds the row's lease token, and no
database transaction is held open across a call to WeChat.
"""
import logging
import threading
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from core import clock, wechat
from core.cache import get_redis, key
from core.extensions import db
from members.models import Member
from notifications.models import (CHANNEL_WECOM, CLAIMABLE, DEAD, INBOX_ONLY, PENDING, SENDING, SENT, SKIPPED,
                                  BranchRobot, Notification, NotificationPreference, SubscriptionConsent)
from notifications.rules import (CONSENT_GONE, KINDS, PERMANENT_ERRCODES, QUOTA_REACHED, ROBOT_TOO_FAST,
                                 backoff_seconds, parse_hhmm, quiet_until, robot_markdown, template_data)

log = logging.getLogger(__name__)

# A sliding one-minute window per robot, shared by every sender: 0 if a slot was taken, else seconds to wait.
_ROBOT_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('EXPIRE', key, window * 2)
  return '0'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


def claim(limit=None, lease_seconds=None):
    """Claim up to `limit` due rows for this sender; return (lease token, [ids])."""
    cfg = current_app.config
    limit = limit or cfg["OUTBOX_BATCH"]
    now = clock.now()
    stmt = (select(Notification.id)
            .where(Notification.status.in_(CLAIMABLE), Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at, Notification.id).limit(limit))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = db.session.scalars(stmt).all()
    token = uuid.uuid4().hex
    if ids:
        lease_end = now + timedelta(seconds=lease_seconds or cfg["OUTBOX_LEASE_SECONDS"])
        db.session.execute(update(Notification).where(Notification.id.in_(ids)).values(
            status=SENDING, lease_token=token, attempts=Notification.attempts + 1, next_attempt_at=lease_end))
    db.session.commit()
    return token, ids


def send_batch(limit=None):
    """Claim one batch and deliver it; return {outcome: count}."""
    token, ids = claim(limit)
    outcomes = {}
    for notification_id in ids:
        try:
            outcome = deliver(notification_id, token)
        except Exception as exc:  # one broken row must not stop the batch; it retries with backoff
            log.exception("delivery failed notification=%s", notification_id)
            db.session.rollback()
            outcome = _retry(notification_id, token, f"internal: {type(exc).__name__}")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def run_sender(once=False, stop=None, idle_seconds=2.0):
    """Send until stopped (or, with once, until nothing is due); return the total of each outcome."""
    stop = stop or threading.Event()
    totals = {}
    while not stop.is_set():
        outcomes = send_batch()
        for name, n in outcomes.items():
            totals[name] = totals.get(name, 0) + n
        if not outcomes:
            if once:
                break
            stop.wait(idle_seconds)
    return totals


def deliver(notification_id, token):
    """Deliver one claimed row; return the outcome (sent, inbox_only, skipped, deferred, retry, dead, lost)."""
    row = db.session.execute(select(Notification).where(Notification.id == notification_id)
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    # The lease may have run out (a slow batch) and another sender may own the row now: leave it alone.
    if row is None or row.lease_token != token or row.status != SENDING or row.next_attempt_at <= clock.now():
        db.session.rollback()
        return "lost"
    if row.channel == CHANNEL_WECOM:
        return _deliver_robot(row, token)
    return _deliver_member(row, token)


def _deliver_member(row, token):
    now = clock.now()
    member = db.session.get(Member, row.member_id)
    if member is None or not member.active:
        return _finish(row.id, token, SKIPPED, "member inactive")
    pref = db.session.get(NotificationPreference, member.id)
    if not row.essential and pref is not None and not pref.reminders_enabled:
        return _finish(row.id, token, INBOX_ONLY, "reminders muted by member")
    until = _quiet_until(pref, now)
    if until is not None:
        return _defer(row.id, token, until, None)
    purpose = KINDS[row.kind][0]
    template = current_app.config["WECHAT_TEMPLATES"][purpose]
    if not member.openid:
        return _finish(row.id, token, INBOX_ONLY, "member has no WeChat binding")
    if not _spend_consent(member.id, template["template_id"]):
        return _finish(row.id, token, INBOX_ONLY, "no subscribe consent left")
    data = template_data(template["keys"], row.payload.get("data") or {}, now)
    openid, page, row_id = member.openid, row.payload.get("page"), row.id
    db.session.commit()  # the consent is spent before the call; no transaction stays open across it
    try:
        wechat.send_subscribe(openid, template["template_id"], data, page=page)
    except wechat.WeChatUnavailable as exc:
        _refund_consent(member.id, template["template_id"])
        return _retry(row_id, token, _error_text(exc))
    except wechat.WeChatError as exc:
        if exc.errcode == CONSENT_GONE:
            # WeChat says the user has no consent left: ours is spent, the inbox copy is all they get.
            return _finish(row_id, token, INBOX_ONLY, _error_text(exc))
        _refund_consent(member.id, template["template_id"])
        if exc.errcode in PERMANENT_ERRCODES:
            log.error("subscribe message rejected as a bug notification=%s errcode=%s errmsg=%s",
                      row_id, exc.errcode, exc.errmsg)
            return _finish(row_id, token, DEAD, _error_text(exc))
        if exc.errcode == QUOTA_REACHED:
            return _retry(row_id, token, _error_text(exc), min_delay=600)
        return _retry(row_id, token, _error_text(exc))
    return _finish(row_id, token, SENT, None, sent_at=clock.now())


def _deliver_robot(row, token):
    robot = db.session.get(BranchRobot, row.branch_id)
    if robot is None or not robot.enabled:
        return _finish(row.id, token, SKIPPED, "no robot configured")
    robot_key, content, row_id, branch_id = robot.webhook_key, row.body, row.id, row.branch_id
    db.session.commit()
    wait = _robot_slot(branch_id, row_id)
    if wait > 0:
        return _defer(row_id, token, clock.now() + timedelta(seconds=wait), "robot rate limit, deferred")
    payload = {"msgtype": "markdown", "markdown": {"content": wechat.fit_wecom_markdown(content)}}
    try:
        wechat.wecom_send(robot_key, payload)
    except wechat.WeChatUnavailable as exc:
        return _retry(row_id, token, _error_text(exc))
    except wechat.WeChatError as exc:
        if exc.errcode == ROBOT_TOO_FAST:
            return _defer(row_id, token, clock.now() + timedelta(seconds=60), _error_text(exc))
        if exc.errcode in PERMANENT_ERRCODES:
            return _finish(row_id, token, DEAD, _error_text(exc))
        return _retry(row_id, token, _error_text(exc))
    return _finish(row_id, token, SENT, None, sent_at=clock.now())


# ---- outcomes (each only while the lease token is still ours) --------------------------------------------

def _finish(row_id, token, status, error, **values):
    _write(row_id, token, status=status, last_error=_cut(error), lease_token=None, **values)
    return "dead" if status == DEAD else status


def _defer(row_id, token, until, error):
    # A deferral (quiet hours, a robot's rate limit) is not a failed attempt.
    _write(row_id, token, status=PENDING, next_attempt_at=until, attempts=Notification.attempts - 1,
           lease_token=None, last_error=_cut(error))
    return "deferred"


def _retry(row_id, token, error, min_delay=0):
    row = db.session.get(Notification, row_id)
    cfg = current_app.config
    if row.attempts >= cfg["OUTBOX_MAX_ATTEMPTS"]:
        log.warning("notification dead after %s attempts id=%s error=%s", row.attempts, row_id, error)
        return _finish(row_id, token, DEAD, error)
    delay = max(min_delay, backoff_seconds(row.attempts, cfg["OUTBOX_BACKOFF_SECONDS"]))
    _write(row_id, token, status=PENDING, next_attempt_at=clock.now() + timedelta(seconds=delay),
           lease_token=None, last_error=_cut(error))
    return "retry"


def _write(row_id, token, **values):
    db.session.execute(update(Notification).where(Notification.id == row_id, Notification.lease_token == token)
                       .values(**values))
    db.session.commit()


def _cut(text):
    return None if text is None else str(text)[:255]


def _error_text(exc):
    return f"{exc.errcode}: {exc.errmsg}"[:255]


# ---- consents, quiet hours, the robot's window -----------------------------------------------------------

def _spend_consent(member_id, template_id):
    """Take one consent atomically (two senders never spend the same one); False if none is left."""
    result = db.session.execute(update(SubscriptionConsent).where(
        SubscriptionConsent.member_id == member_id, SubscriptionConsent.template_id == template_id,
        SubscriptionConsent.remaining > 0, SubscriptionConsent.banned.is_(False))
        .values(remaining=SubscriptionConsent.remaining - 1))
    return result.rowcount == 1


def _refund_consent(member_id, template_id):
    """Give back a consent the failed send did not use (WeChat only spends one on success)."""
    db.session.execute(update(SubscriptionConsent).where(
        SubscriptionConsent.member_id == member_id, SubscriptionConsent.template_id == template_id,
        SubscriptionConsent.banned.is_(False)).values(remaining=SubscriptionConsent.remaining + 1))
    db.session.commit()


def _quiet_until(pref, now):
    start, end = current_app.config["QUIET_HOURS"]
    if pref is not None:
        if not pref.quiet_enabled:
            return None
        start, end = pref.quiet_start or start, pref.quiet_end or end
    return quiet_until(now, parse_hhmm(start), parse_hhmm(end))


def _robot_slot(branch_id, row_id):
    limit = current_app.config["WECOM_PER_MINUTE"]
    wait = get_redis().eval(_ROBOT_WINDOW, 1, key("wecom", "window", branch_id), clock.now().timestamp(), 60,
                            limit, f"{row_id}:{uuid.uuid4().hex[:8]}")
    return float(wait)


__all__ = ["claim", "send_batch", "run_sender", "deliver", "robot_markdown", "DEAD", "SENT"]
