"""Senders: deliver the rows they claimed (notifications.lease): a WeChat subscribe message or a WeCom robot post.

Each batch is decided in bulk (the member's consent, preferences and quiet hours), its calls run concurrently on a
small thread pool, and its outcomes are written together, only while the sender still holds the lease token; no
database transaction is held open across a call to WeChat.
"""
import logging
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from core import clock, wechat
from core.cache import key, script
from core.extensions import db
from members.models import Member
from notifications import lease
from notifications.models import (
    CALLING,
    CHANNEL_WECOM,
    DEAD,
    INBOX_ONLY,
    SENDING,
    SENT,
    SKIPPED,
    BranchRobot,
    Notification,
    NotificationPreference,
    SubscriptionConsent,
)
from notifications.rules import (
    CONSENT_GONE,
    KINDS,
    PERMANENT_ERRCODES,
    QUOTA_REACHED,
    ROBOT_TOO_FAST,
    parse_hhmm,
    quiet_until,
    robot_markdown,
    template_data,
)

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

_pool = None
_pool_lock = threading.Lock()


def _executor():
    """The process's thread pool for WeChat calls (the requests session's pool is larger than it)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=current_app.config.get("SENDER_THREADS", 8),
                                       thread_name_prefix="wechat-send")
        return _pool


def send_batch(limit=None):
    """Claim one batch and deliver it; return {outcome: count}."""
    token, ids = lease.claim(limit)
    return deliver_batch(ids, token) if ids else {}


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
    outcomes = deliver_batch([notification_id], token)
    return next(iter(outcomes))


def deliver_batch(ids, token):
    """Deliver claimed rows: decide each in bulk, call WeChat for the batch at once, write the outcomes."""
    outcomes = {}

    def count(outcome, n=1):
        if n:
            outcomes[outcome] = outcomes.get(outcome, 0) + n

    now = clock.now()
    rows = db.session.scalars(select(Notification).where(
        Notification.id.in_(ids), Notification.lease_token == token, Notification.status == SENDING,
        Notification.next_attempt_at > now).order_by(Notification.id)
        .execution_options(populate_existing=True)).all()
    # The lease may have run out (a slow batch) and another sender may own a row now: leave those alone.
    count("lost", len(ids) - len(rows))
    for row in [r for r in rows if r.channel == CHANNEL_WECOM]:
        count(_guarded(row.id, token, lambda r=row: _deliver_robot(r, token)))
    member_rows = [r for r in rows if r.channel != CHANNEL_WECOM]
    if member_rows:
        try:
            for outcome, n in _deliver_members(member_rows, token, now).items():
                count(outcome, n)
        except Exception as exc:  # a broken batch must not stop the sender; its rows retry with backoff
            log.exception("batch delivery failed")
            db.session.rollback()
            for row_id in [r.id for r in member_rows]:
                count(lease.retry(row_id, token, f"internal: {type(exc).__name__}"))
    db.session.rollback()
    return outcomes


def _guarded(row_id, token, work):
    try:
        return work()
    except Exception as exc:  # one broken row must not stop the batch; it retries with backoff
        log.exception("delivery failed notification=%s", row_id)
        db.session.rollback()
        return lease.retry(row_id, token, f"internal: {type(exc).__name__}")


def _deliver_members(rows, token, now):
    """Subscribe messages for a batch of member rows: three reads, one consent statement per template, one
    `calling` write, the calls in parallel, then the outcomes."""
    finished = Counter()
    members, prefs = _recipients(rows)
    decided, deferred, wants = _decide(rows, members, prefs, token, now)
    if deferred:
        finished["deferred"] = deferred
    calls = _take_consents(wants, decided)
    for (status, error), ids in decided.items():
        lease.finish_many(ids, token, status, error, commit=False)
        finished[status] += len(ids)
    calls = _mark_calling(calls, token, finished)
    jobs = [(row.id, row.member_id, members[row.member_id].openid, template,
             template_data(template["keys"], row.payload.get("data") or {}, now), row.payload.get("page"))
            for row, template in calls]
    db.session.commit()
    results = _call_wechat(jobs)
    _record_results(jobs, results, token, finished)
    return dict(finished)


def _recipients(rows):
    """The rows' members (id, active, openid) and their notification preferences, each keyed by member id."""
    member_ids = {r.member_id for r in rows}
    members = {m.id: m for m in db.session.execute(
        select(Member.id, Member.active, Member.openid).where(Member.id.in_(member_ids))).all()}
    prefs = {p.member_id: p for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.member_id.in_(member_ids)))}
    return members, prefs


def _decide(rows, members, prefs, token, now):
    """Settle the rows that need no push and defer those in quiet hours (uncommitted); return the settled ids
    by (status, error), how many were deferred, and the (row, template) pairs that want a consent spent."""
    decided, deferred, wants = {}, 0, []
    templates = current_app.config["WECHAT_TEMPLATES"]
    for row in rows:
        member, pref = members.get(row.member_id), prefs.get(row.member_id)
        if member is None or not member.active:
            decided.setdefault((SKIPPED, "member inactive"), []).append(row.id)
        elif not row.essential and pref is not None and not pref.reminders_enabled:
            decided.setdefault((INBOX_ONLY, "reminders muted by member"), []).append(row.id)
        elif (until := _quiet_until(pref, now)) is not None:
            lease.defer(row.id, token, until, None, commit=False)
            deferred += 1
        elif not member.openid:
            decided.setdefault((INBOX_ONLY, "member has no WeChat binding"), []).append(row.id)
        else:
            wants.append((row, templates[KINDS[row.kind][0]]))
    return decided, deferred, wants


def _take_consents(wants, decided):
    """Spend a consent for each wanted push; return the pairs that got one, the others join `decided` as
    inbox only."""
    spent = _spend_consents([(row.member_id, template["template_id"]) for row, template in wants])
    calls = []
    for index, (row, template) in enumerate(wants):
        if index in spent:
            calls.append((row, template))
        else:
            decided.setdefault((INBOX_ONLY, "no subscribe consent left"), []).append(row.id)
    return calls


def _mark_calling(calls, token, finished):
    """Mark the rows about to be pushed `calling` (still uncommitted); return the calls whose row this sender
    still holds, giving back the consent of each it lost."""
    # Committed before any call: a sender that dies from here on leaves `calling` rows, never a second send.
    calling = set(db.session.scalars(update(Notification).where(
        Notification.id.in_([row.id for row, _ in calls]), Notification.lease_token == token,
        Notification.status == SENDING).values(status=CALLING).returning(Notification.id)
        .execution_options(synchronize_session=False)).all()) if calls else set()
    for row, template in calls:
        if row.id not in calling:  # lost the lease in the meantime: give the consent back, touch nothing else
            _refund_consent(row.member_id, template["template_id"], commit=False)
            finished["lost"] += 1
    return [(row, template) for row, template in calls if row.id in calling]


def _call_wechat(jobs):
    """Send each job's subscribe message, in parallel when there are several; return None or the error of each."""
    app = current_app._get_current_object()

    def call(job):
        row_id, member_id, openid, template, data, page = job
        with app.app_context():
            try:
                wechat.send_subscribe(openid, template["template_id"], data, page=page)
                return None
            except wechat.WeChatError as exc:  # WeChatUnavailable is one too
                return exc

    return list(_executor().map(call, jobs)) if len(jobs) > 1 else [call(job) for job in jobs]


def _record_results(jobs, results, token, finished):
    """Write the sent rows in one statement and commit, then settle each failed call on its own."""
    sent_ids = [job[0] for job, error in zip(jobs, results) if error is None]
    if sent_ids:
        lease.finish_many(sent_ids, token, SENT, None, commit=False, sent_at=clock.now())
        finished[SENT] += len(sent_ids)
    db.session.commit()
    for job, error in zip(jobs, results):
        if error is not None:
            finished[_failed_call(job[0], token, job[1], job[3]["template_id"], error)] += 1


def _failed_call(row_id, token, member_id, template_id, exc):
    """The outcome of a call WeChat refused or could not take."""
    if isinstance(exc, wechat.WeChatUnavailable):
        _refund_consent(member_id, template_id)
        return lease.retry(row_id, token, _error_text(exc))
    if exc.errcode == CONSENT_GONE:
        # WeChat says the user has no consent left: ours is spent, the inbox copy is all they get.
        return lease.finish(row_id, token, INBOX_ONLY, _error_text(exc))
    _refund_consent(member_id, template_id)
    if exc.errcode in PERMANENT_ERRCODES:
        log.error("subscribe message rejected as a bug notification=%s errcode=%s errmsg=%s",
                  row_id, exc.errcode, exc.errmsg)
        return lease.finish(row_id, token, DEAD, _error_text(exc))
    if exc.errcode == QUOTA_REACHED:
        return lease.retry(row_id, token, _error_text(exc), min_delay=600)
    return lease.retry(row_id, token, _error_text(exc))


def _deliver_robot(row, token):
    robot = db.session.get(BranchRobot, row.branch_id)
    if robot is None or not robot.enabled:
        return lease.finish(row.id, token, SKIPPED, "no robot configured")
    robot_key, content, row_id, branch_id = robot.webhook_key, row.body, row.id, row.branch_id
    db.session.commit()
    wait = _robot_slot(branch_id, row_id)
    if wait > 0:
        return lease.defer(row_id, token, clock.now() + timedelta(seconds=wait), "robot rate limit, deferred")
    payload = {"msgtype": "markdown", "markdown": {"content": wechat.fit_wecom_markdown(content)}}
    if not lease.write(row_id, token, status=CALLING):
        return "lost"
    try:
        wechat.wecom_send(robot_key, payload)
    except wechat.WeChatUnavailable as exc:
        return lease.retry(row_id, token, _error_text(exc))
    except wechat.WeChatError as exc:
        if exc.errcode == ROBOT_TOO_FAST:
            return lease.defer(row_id, token, clock.now() + timedelta(seconds=60), _error_text(exc))
        if exc.errcode in PERMANENT_ERRCODES:
            return lease.finish(row_id, token, DEAD, _error_text(exc))
        return lease.retry(row_id, token, _error_text(exc))
    return lease.finish(row_id, token, SENT, None, sent_at=clock.now())


def _error_text(exc):
    return f"{exc.errcode}: {exc.errmsg}"[:255]


# ---- consents, quiet hours, the robot's window -----------------------------------------------------------

def _spend_consents(pairs):
    """Take one consent for each (member, template) atomically, one statement per template and round (a pair
    twice in a batch takes a second round); return the indexes of the pairs that got one."""
    spent, pending = set(), list(enumerate(pairs))
    while pending:
        this_round, later, seen = {}, [], set()
        for index, pair in pending:
            if pair in seen:
                later.append((index, pair))
            else:
                seen.add(pair)
                this_round.setdefault(pair[1], []).append((index, pair[0]))
        for template_id, wanted in this_round.items():
            got = set(db.session.scalars(update(SubscriptionConsent).where(
                SubscriptionConsent.member_id.in_([member_id for _, member_id in wanted]),
                SubscriptionConsent.template_id == template_id, SubscriptionConsent.remaining > 0,
                SubscriptionConsent.banned.is_(False))
                .values(remaining=SubscriptionConsent.remaining - 1).returning(SubscriptionConsent.member_id)
                .execution_options(synchronize_session=False)).all())
            spent.update(index for index, member_id in wanted if member_id in got)
        pending = later
    return spent


def _refund_consent(member_id, template_id, commit=True):
    """Give back a consent the failed send did not use (WeChat only spends one on success)."""
    db.session.execute(update(SubscriptionConsent).where(
        SubscriptionConsent.member_id == member_id, SubscriptionConsent.template_id == template_id,
        SubscriptionConsent.banned.is_(False)).values(remaining=SubscriptionConsent.remaining + 1)
        .execution_options(synchronize_session=False))
    if commit:
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
    wait = script(_ROBOT_WINDOW)(keys=[key("wecom", "window", branch_id)],
                                 args=[clock.now().timestamp(), 60, limit, f"{row_id}:{uuid.uuid4().hex[:8]}"])
    return float(wait)


__all__ = ["send_batch", "run_sender", "deliver", "robot_markdown", "DEAD", "SENT"]
