"""The verbs of notifications: enqueue (one or a chunked fan-out), inbox, consents, preferences, robots, reminders."""
import logging

from flask import current_app
from sqlalchemy import String, cast, func, literal, select, update

from core import audit, clock
from core.db import dialect_insert
from core.errors import Invalid, NotFound
from core.extensions import db
from members.models import Member
from members.scope import in_committee_subtree, subtree_committee_ids
from notifications import content
from notifications.models import (
    CHANNEL_WECHAT,
    CHANNEL_WECOM,
    DEAD,
    PENDING,
    BranchRobot,
    Notification,
    NotificationPreference,
    SubscriptionConsent,
    SubscriptionReport,
)
from notifications.rules import KINDS, parse_hhmm
from quizzes.stats import members_not_submitted

log = logging.getLogger(__name__)

CHUNK = 1000  # rows per INSERT ... ON CONFLICT DO NOTHING, and per commit of a fan-out, per-member messages
FAN_OUT_CHUNK = 5000  # members per INSERT ... SELECT of one message (no Python rows, so a larger chunk is cheap)


def idem_key(kind, period, member_id=None, branch_id=None):
    """The idempotency key of a notification: kind + period + recipient."""
    who = f"m{member_id}" if member_id is not None else f"b{branch_id}"
    return f"{kind}:{period}:{who}"


def _row(kind, period, member_id, branch_id, committee_id, message, now, channel=CHANNEL_WECHAT):
    return {
        "idem_key": idem_key(kind, period, member_id if channel == CHANNEL_WECHAT else None, branch_id),
        "kind": kind, "channel": channel, "member_id": member_id if channel == CHANNEL_WECHAT else None,
        "branch_id": branch_id, "committee_id": committee_id, "title": message["title"][:100],
        "body": message.get("body", ""), "payload": {"data": message.get("data", {}), "page": message.get("page")},
        "essential": KINDS[kind][1], "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now,
    }


def _insert_rows(rows):
    """Insert outbox rows, skipping keys that already exist; return how many were new."""
    if not rows:
        return 0
    stmt = dialect_insert(Notification).on_conflict_do_nothing(index_elements=["idem_key"]).returning(
        Notification.id)
    return len(db.session.execute(stmt, rows).all())


def notify_member(member, kind, period, message):
    """Add one member's notification to the current transaction (the caller commits); 0 if already there."""
    now = clock.now()
    return _insert_rows([_row(kind, period, member.id, member.branch_id, member.committee_id, message, now)])


def notify_branch_robot(branch, kind, period, message):
    """Queue a markdown message to a branch's group robot, if one is configured and enabled; return 0/1."""
    robot = db.session.get(BranchRobot, branch.id)
    if robot is None or not robot.enabled:
        return 0
    now = clock.now()
    return _insert_rows([_row(kind, period, None, branch.id, branch.committee_id, message, now,
                              channel=CHANNEL_WECOM)])


def fan_out(member_ids, kind, period, message, commit=True):
    """Queue one notification per active member in the select `member_ids`, in chunks of ids.

    `message` is a dict (title, body, data, page), or for per-member content a function taking a chunk's
    member ids and returning {member_id: dict} (one query per chunk, not per member).
    The audience is read once (ids only, sorted); each chunk is then one statement — for a dict message an
    INSERT ... SELECT straight from members, no Python object per member — with ON CONFLICT DO NOTHING and,
    with commit=True, its own transaction: a re-run only fills the gaps.
    """
    ids = member_ids.subquery()
    id_col = list(ids.c)[0]
    audience = db.session.scalars(select(id_col).distinct().order_by(id_col)).all()
    total = 0
    for start in range(0, len(audience), FAN_OUT_CHUNK if not callable(message) else CHUNK):
        chunk_ids = audience[start:start + (FAN_OUT_CHUNK if not callable(message) else CHUNK)]
        if callable(message):
            total += _insert_per_member(chunk_ids, kind, period, message)
        else:
            total += _insert_select(chunk_ids, kind, period, message)
        if commit:
            db.session.commit()
    return total


def _insert_per_member(chunk_ids, kind, period, message):
    chunk = db.session.execute(
        select(Member.id, Member.branch_id, Member.committee_id)
        .where(Member.id.in_(chunk_ids), Member.active.is_(True)).order_by(Member.id)).all()
    now = clock.now()
    per_member = message([m for m, _, _ in chunk])
    rows = [_row(kind, period, member_id, branch_id, committee_id, per_member[member_id], now)
            for member_id, branch_id, committee_id in chunk if per_member.get(member_id)]
    return _insert_rows(rows)


def _insert_select(chunk_ids, kind, period, message):
    """One INSERT ... SELECT of the same message for a chunk of active members; return how many were new."""
    now = clock.now()
    row = _row(kind, period, 0, None, None, message, now)
    constant = {name: value for name, value in row.items() if name not in ("idem_key", "member_id", "branch_id",
                                                                           "committee_id")}
    columns = ["idem_key", "member_id", "branch_id", "committee_id", *constant]
    table = Notification.__table__
    source = select(
        literal(idem_key(kind, period, member_id="")) + cast(Member.id, String), Member.id, Member.branch_id,
        Member.committee_id, *[literal(value, type_=table.c[name].type).label(name) for name, value in constant.items()]
    ).where(Member.id.in_(chunk_ids), Member.active.is_(True))
    stmt = dialect_insert(Notification).from_select(columns, source).on_conflict_do_nothing(
        index_elements=["idem_key"]).returning(Notification.id)
    return len(db.session.execute(stmt).all())


# ---- inbox ------------------------------------------------------------------------------------------------

def inbox_query(member, unread_only=False):
    """A select of the member's inbox, newest first."""
    stmt = select(Notification).where(Notification.member_id == member.id,
                                      Notification.created_at <= clock.now())
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.id.desc())


def unread_count(member):
    """How many inbox notifications the member has not read."""
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.member_id == member.id, Notification.read_at.is_(None),
        Notification.created_at <= clock.now()))


def mark_read(member, notification_id):
    """Mark one of the member's notifications read (again is harmless); 404 if it is not theirs."""
    item = db.session.get(Notification, notification_id)
    if item is None or item.member_id != member.id:
        raise NotFound("通知不存在")
    if item.read_at is None:
        item.read_at = clock.now()
        db.session.commit()
    return item


def mark_all_read(member):
    """Mark every unread notification of the member read; return how many changed."""
    result = db.session.execute(update(Notification).where(
        Notification.member_id == member.id, Notification.read_at.is_(None),
        Notification.created_at <= clock.now()).values(read_at=clock.now()))
    db.session.commit()
    return result.rowcount


# ---- subscribe consents -----------------------------------------------------------------------------------

def template_ids():
    """{template_id: purpose} of the configured subscribe templates."""
    return {t["template_id"]: purpose for purpose, t in current_app.config["WECHAT_TEMPLATES"].items()}


def record_subscriptions(member, request_id, results):
    """Apply one wx.requestSubscribeMessage report: each accept is one message; ban stops the template.

    The request_id makes a retried report (flaky phone network) count once.
    """
    known = template_ids()
    unknown = sorted({r["template_id"] for r in results} - set(known))
    if unknown:
        raise Invalid("存在未知的订阅消息模板", code="unknown_template", details={"template_ids": unknown})
    inserted = db.session.execute(
        dialect_insert(SubscriptionReport).on_conflict_do_nothing(index_elements=["member_id", "request_id"])
        .returning(SubscriptionReport.id),
        [{"member_id": member.id, "request_id": request_id, "created_at": clock.now(),
          "results": {r["template_id"]: r["result"] for r in results}}]).all()
    if inserted:
        now = clock.now()
        for item in results:
            _ensure_consent_row(member.id, item["template_id"])
            consent = SubscriptionConsent.member_id == member.id, SubscriptionConsent.template_id == item["template_id"]
            if item["result"] == "accept":
                db.session.execute(update(SubscriptionConsent).where(*consent).values(
                    remaining=SubscriptionConsent.remaining + 1, banned=False, updated_at=now))
            elif item["result"] == "ban":
                db.session.execute(update(SubscriptionConsent).where(*consent).values(
                    remaining=0, banned=True, updated_at=now))
    db.session.commit()
    return list_subscriptions(member)


def _ensure_consent_row(member_id, template_id):
    db.session.execute(dialect_insert(SubscriptionConsent).on_conflict_do_nothing(
        index_elements=["member_id", "template_id"]).values(
        member_id=member_id, template_id=template_id, remaining=0, banned=False, updated_at=clock.now()))


def list_subscriptions(member):
    """The member's consents per configured template (zero where none was ever given)."""
    have = {c.template_id: c for c in db.session.scalars(
        select(SubscriptionConsent).where(SubscriptionConsent.member_id == member.id))}
    return [{"template_id": tid, "purpose": purpose,
             "remaining": have[tid].remaining if tid in have else 0,
             "banned": have[tid].banned if tid in have else False}
            for tid, purpose in template_ids().items()]


# ---- preferences ------------------------------------------------------------------------------------------

def preferences(member):
    """The member's preferences, defaults filled in."""
    pref = db.session.get(NotificationPreference, member.id)
    start, end = current_app.config["QUIET_HOURS"]
    return {
        "reminders_enabled": pref.reminders_enabled if pref else True,
        "quiet_hours_enabled": pref.quiet_enabled if pref else True,
        "quiet_start": (pref.quiet_start if pref and pref.quiet_start else start),
        "quiet_end": (pref.quiet_end if pref and pref.quiet_end else end),
    }


def update_preferences(member, changes):
    """Change some of the member's preferences."""
    for name in ("quiet_start", "quiet_end"):
        if name in changes:
            try:
                parse_hhmm(changes[name])
            except ValueError:
                raise Invalid.field("时间格式应为 HH:MM", name, "时间格式应为 HH:MM")
    pref = db.session.get(NotificationPreference, member.id)
    if pref is None:
        pref = NotificationPreference(member_id=member.id)
        db.session.add(pref)
    if "reminders_enabled" in changes:
        pref.reminders_enabled = changes["reminders_enabled"]
    if "quiet_hours_enabled" in changes:
        pref.quiet_enabled = changes["quiet_hours_enabled"]
    if "quiet_start" in changes:
        pref.quiet_start = changes["quiet_start"]
    if "quiet_end" in changes:
        pref.quiet_end = changes["quiet_end"]
    db.session.commit()
    return preferences(member)


# ---- branch robots ----------------------------------------------------------------------------------------

def robot_status(branch):
    """What the API may say about a branch's robot: configured or not, enabled, when — never the key."""
    robot = db.session.get(BranchRobot, branch.id)
    return {"branch_id": branch.id, "configured": robot is not None,
            "enabled": bool(robot and robot.enabled), "updated_at": robot.updated_at if robot else None}


def set_robot(actor, branch, webhook_key, enabled=True):
    """Store (or replace) a branch's WeCom robot key."""
    robot = db.session.get(BranchRobot, branch.id)
    if robot is None:
        robot = BranchRobot(branch_id=branch.id, webhook_key=webhook_key)
        db.session.add(robot)
    robot.webhook_key, robot.enabled, robot.updated_by = webhook_key, enabled, actor.id
    robot.updated_at = clock.now()
    audit.record(actor, "notifications.robot_set", "branch", branch.id, enabled=enabled)  # never the key
    db.session.commit()
    return robot_status(branch)


def remove_robot(actor, branch):
    """Forget a branch's robot key."""
    robot = db.session.get(BranchRobot, branch.id)
    if robot is not None:
        db.session.delete(robot)
        audit.record(actor, "notifications.robot_removed", "branch", branch.id)
        db.session.commit()
    return robot_status(branch)


# ---- the secretary's 一键提醒 --------------------------------------------------------------------------------

def _reminder_group(branch, kind):
    """(select of the member ids a 一键提醒 of this kind reaches now, its message, its period): the one definition
    both the preview and the reminder use, so the group shown is the group reminded."""
    now = clock.now()
    behind, message = content.behind_for_reminder(kind, branch, now)
    active = select(Member.id).where(Member.id.in_(behind), Member.active.is_(True))
    return active, message, clock.local_day_of(now).isoformat()


def reminder_audience(branch, kind):
    """Who a 一键提醒 of one kind in a branch would reach now, each marked if already reminded today.

    Returns {kind, behind, to_remind, already_reminded, members: [{id, name, reminded_today}]}."""
    group, _, period = _reminder_group(branch, kind)
    people = db.session.execute(select(Member.id, Member.name).where(Member.id.in_(group))
                                .order_by(Member.name, Member.id)).all()
    keys = {idem_key(f"reminder_{kind}", period, member_id=mid): mid for mid, _ in people}
    ordered, reminded = list(keys), set()
    for start in range(0, len(ordered), CHUNK):
        reminded.update(keys[k] for k in db.session.scalars(
            select(Notification.idem_key).where(Notification.idem_key.in_(ordered[start:start + CHUNK]))))
    members = [{"id": mid, "name": name, "reminded_today": mid in reminded} for mid, name in people]
    return {"kind": kind, "behind": len(members), "to_remind": len(members) - len(reminded),
            "already_reminded": len(reminded), "members": members}


def remind_branch(actor, branch, kind):
    """Remind the members of a branch who are behind on reading, the quiz or quotas (reminder_audience's group);
    once per member, kind and day. Returns {kind, behind, reminded, already_reminded}."""
    group, message, period = _reminder_group(branch, kind)
    behind_count = db.session.scalar(select(func.count()).select_from(group.subquery()))
    reminded = fan_out(group, f"reminder_{kind}", period, message, commit=False)
    audit.record(actor, "notifications.branch_reminder", "branch", branch.id, kind=kind, reminded=reminded)
    db.session.commit()
    return {"kind": kind, "behind": behind_count, "reminded": reminded, "already_reminded": behind_count - reminded}


# ---- for the quizzes room ---------------------------------------------------------------------------------

def notify_quiz_close_moved(quiz, old_close):
    """Tell the members of an open quiz who have not submitted that its close moved from `old_close`; in the
    caller's transaction (the edit commits it, a failed edit queues nothing). Returns how many were queued.

    Keyed by the quiz, the old and the new close: a retried or racing edit adds nothing, a later move notifies
    again (also one back to an earlier close); only a move repeated exactly (A→B, B→A, A→B) is not told twice."""
    old, new = (moment.astimezone(clock.UTC).isoformat() for moment in (old_close, quiz.closes_at))
    period = f"quiz{quiz.id}:{old}>{new}"
    return fan_out(members_not_submitted(quiz), "quiz_close_moved", period, content.quiz_close_moved_message(quiz),
                   commit=False)


# ---- for the quotas room ----------------------------------------------------------------------------------

def notify_book_reviewed(report):
    """Tell a member their book report's review (approved, or rejected with the reason), in the review's
    transaction; keyed by the report and the review's moment, so each review is told exactly once."""
    period = f"book{report.id}:{report.reviewed_at.astimezone(clock.UTC).isoformat()}"
    return notify_member(report.member, "book_reviewed", period, content.book_reviewed_message(report))


# ---- admin view of the outbox -----------------------------------------------------------------------------

def outbox_query(admin, status=None):
    """A select of outbox rows in an admin's committee subtree, newest first: every row, or those of one status."""
    stmt = select(Notification).where(Notification.committee_id.in_(subtree_committee_ids(admin.committee_id)))
    if status is not None:
        stmt = stmt.where(Notification.status == status)
    return stmt.order_by(Notification.id.desc())


def retry_dead(actor, notification):
    """Give a dead row a fresh start (after the cause was fixed)."""
    if notification.status != DEAD:
        raise Invalid("只有投递失败的通知可以重试", code="not_dead")
    notification.status, notification.attempts = PENDING, 0
    notification.next_attempt_at, notification.last_error = clock.now(), None
    audit.record(actor, "notifications.retry", "notification", notification.id)
    db.session.commit()
    return notification


def outbox_item_for(admin, notification_id):
    """Load an outbox row in the admin's scope, else 404."""
    item = db.session.get(Notification, notification_id)
    if item is None or item.committee_id is None or not in_committee_subtree(admin, item.committee_id):
        raise NotFound("通知不存在")
    return item
