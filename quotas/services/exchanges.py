"""Exchanges (交流): who sees them, proposing, editing, reviewing and cancelling one, and settling it once held."""
import secrets
from datetime import timedelta

from sqlalchemy import and_, or_, select

from core import audit, clock
from core.db import inserted, lock_row
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.extensions import db
from core.schemas import unsafe_text_reason
from learning import points
from members.models import Branch, Member
from members.scope import can_manage_branch, load_in_scope, managed_branch_ids
from quotas.models import Attendance, Exchange, ExchangeSpeaker

MAX_SPEAKERS = 10
MAX_EXCHANGE_HOURS = 12


def _audience_clause(exchange):
    """A WHERE over Member: who may attend — the host branch, or every branch of the committee if shared."""
    if exchange.shared:
        return Member.branch_id.in_(select(Branch.id).where(Branch.committee_id == exchange.committee_id))
    return Member.branch_id == exchange.branch_id


def _in_audience(member, exchange):
    if member.branch_id is None:
        return False
    if member.branch_id == exchange.branch_id:
        return True
    return exchange.shared and member.branch is not None and member.branch.committee_id == exchange.committee_id


def can_manage_exchange(member, exchange):
    return can_manage_branch(member, exchange.branch)


def _shown_to_audience(exchange):
    # An approved exchange, and one cancelled after approval (its record stays honest); never a proposal.
    return exchange.status == "approved" or exchange.cancelled_from == "approved"


def exchange_for(viewer, exchange_id, manage=False):
    """Load an exchange the viewer may see; 404 outside scope, 403 when visible but not theirs to manage."""
    return load_in_scope(Exchange, exchange_id, lambda exchange: can_manage_exchange(viewer, exchange),
                         lambda exchange: _seen_by(viewer, exchange), manage,
                         "仅主办支部的支部书记或党委管理员可执行此操作")


def _seen_by(viewer, exchange):
    # A proposal is seen by its proposer and the secretaries until it is approved.
    return exchange.proposed_by_id == viewer.id or (_shown_to_audience(exchange) and _in_audience(viewer, exchange))


def list_exchanges(viewer, year=None, status=None, branch_id=None):
    """A select of the exchanges the viewer may see, newest first."""
    audience = [Exchange.branch_id == viewer.branch_id]
    if viewer.branch_id is not None:
        audience.append(and_(Exchange.shared.is_(True), Exchange.committee_id == viewer.branch.committee_id))
    shown = or_(Exchange.status == "approved", Exchange.cancelled_from == "approved")
    visible = or_(Exchange.branch_id.in_(managed_branch_ids(viewer)), Exchange.proposed_by_id == viewer.id,
                  and_(shown, or_(*audience)))
    stmt = select(Exchange).where(visible)
    if year is not None:
        stmt = stmt.where(Exchange.year == year)
    if status is not None:
        stmt = stmt.where(Exchange.status == status)
    if branch_id is not None:
        stmt = stmt.where(Exchange.branch_id == branch_id)
    return stmt.order_by(Exchange.starts_at.desc(), Exchange.id.desc())


def exchange_detail(viewer, exchange):
    """An exchange with its attendance count and, for the viewer, whether they are checked in."""
    count = db.session.scalar(select(db.func.count()).where(Attendance.exchange_id == exchange.id))
    mine = db.session.scalar(select(Attendance.id).where(Attendance.exchange_id == exchange.id,
                                                         Attendance.member_id == viewer.id))
    exchange.attendee_count = count
    exchange.checked_in = mine is not None
    exchange.can_manage = can_manage_exchange(viewer, exchange)
    return exchange


def create_exchange(actor, data):
    """Record an exchange (secretary/admin: approved at once) or propose one (member: pending approval).

    A manager who is among the speakers proposes it like a member: nobody approves their own talk.
    Returns (exchange, created): a retried identical request returns the exchange it already made.
    """
    branch_id = data.pop("branch_id", None) or actor.branch_id
    if branch_id is None:
        raise Invalid.field("请指定主办支部", "branch_id", "必填")
    branch = db.session.get(Branch, branch_id)
    if branch is None:
        raise NotFound()
    manager = can_manage_branch(actor, branch)
    if not manager and actor.branch_id != branch.id:
        raise NotFound()
    speaker_ids = data.pop("speaker_ids", [])
    approves = manager and actor.id not in speaker_ids
    _check_window(data["starts_at"], data["ends_at"])
    _check_where(data.get("place"), data.get("online_url"))
    existing = _same_exchange(branch.id, data["starts_at"], data["title"])
    if existing is not None:
        return _existing_exchange(actor, existing), False
    exchange = Exchange(committee_id=branch.committee_id, branch_id=branch.id, year=_local_year(data["starts_at"]),
                        status="approved" if approves else "pending", created_by_id=actor.id,
                        proposed_by_id=None if approves else actor.id, checkin_salt=secrets.token_hex(8), **data)
    if approves:
        exchange.reviewed_by_id, exchange.reviewed_at = actor.id, clock.now()
    if not inserted(exchange):  # the same request racing in twice
        return _existing_exchange(actor, _same_exchange(branch.id, data["starts_at"], data["title"])), False
    _set_speakers(exchange, speaker_ids)
    if not speaker_ids and not exchange.guest_speakers:
        raise Invalid.field("请填写主讲人", "speaker_ids", "至少一位主讲人")
    _settle(exchange)  # a back-dated record is paid at once; one still to come, by the settle job after its end
    if manager:
        audit.record(actor, "quota.exchange_create", "exchange", exchange.id, title=exchange.title)
    db.session.commit()
    return exchange, True


def _same_exchange(branch_id, starts_at, title):
    return db.session.scalar(select(Exchange).where(Exchange.branch_id == branch_id, Exchange.starts_at == starts_at,
                                                    Exchange.title == title))


def _existing_exchange(actor, existing):
    if existing.status == "cancelled":  # a retry must not hand back a cancelled exchange as if it were made
        raise Conflict("本支部同一时间的同名交流已取消，如需重新举办请修改标题或时间", code="exchange_cancelled",
                       details={"exchange_id": existing.id})
    if existing.created_by_id != actor.id:
        raise Conflict("本支部同一时间已有同名交流", code="exchange_exists", details={"exchange_id": existing.id})
    return existing


def update_exchange(actor, exchange, changes):
    """Edit an exchange (its managers; the proposer while it is pending); speakers' points follow the change."""
    exchange = _locked(exchange)
    _refuse_cancelled(exchange)
    if not can_manage_exchange(actor, exchange):
        if exchange.proposed_by_id != actor.id or exchange.status != "pending":
            raise Forbidden("只能修改自己提议且待审核的交流")
    speaker_ids = changes.pop("speaker_ids", None)
    if (exchange.status == "approved" and speaker_ids is not None and actor.id in speaker_ids
            and actor.id not in {s.member_id for s in exchange.speakers}):
        raise _own_exchange_refused()
    starts_at, ends_at = changes.get("starts_at", exchange.starts_at), changes.get("ends_at", exchange.ends_at)
    _check_window(starts_at, ends_at)
    # What has been held (and paid) stays held: its time can be corrected, not moved into the future.
    if exchange.status == "approved" and _held(exchange) and ends_at > clock.now():
        raise Conflict("交流已举行，不能改为尚未到来的时间", code="exchange_held")
    _check_where(changes.get("place", exchange.place), changes.get("online_url", exchange.online_url))
    for field, value in changes.items():
        setattr(exchange, field, value)
    exchange.year = _local_year(starts_at)
    if speaker_ids is not None:
        _replace_speakers(exchange, speaker_ids)
    if not exchange.speakers and not exchange.guest_speakers:
        raise Invalid.field("请填写主讲人", "speaker_ids", "至少一位主讲人")
    _settle(exchange)
    if can_manage_exchange(actor, exchange):
        audit.record(actor, "quota.exchange_update", "exchange", exchange.id, fields=sorted(changes))
    db.session.commit()
    return exchange


def _replace_speakers(exchange, speaker_ids):
    """The exchange's speakers become `speaker_ids`; those dropped from an approved exchange lose its talk points."""
    before = {s.member_id for s in exchange.speakers}
    after = set(speaker_ids)
    for speaker in list(exchange.speakers):
        if speaker.member_id not in after:
            exchange.speakers.remove(speaker)
    db.session.flush()
    _set_speakers(exchange, [m for m in speaker_ids if m not in before])
    if exchange.status == "approved":
        for member_id in before - after:
            points.revoke(_talk_key(exchange.id, member_id))


def _require_reason(approve, reason):
    if not approve and not (reason or "").strip():
        raise Invalid.field("退回时请填写原因", "reason", "退回时必填")
    _refuse_unsafe_reason(reason)


def _refuse_unsafe_reason(reason):
    """A reason typed on the console reaches here without a schema: the text rule of every field applies too."""
    why = unsafe_text_reason(reason) if reason else None
    if why:
        raise Invalid.field(f"原因{why}", "reason", why)


def review_exchange(actor, exchange, approve, reason=None):
    """Approve a proposed exchange (its speakers' talks then count) or reject it with a reason."""
    _require_reason(approve, reason)
    exchange = _locked(exchange)
    _refuse_cancelled(exchange)
    if exchange.status != "pending":
        raise Conflict("该交流已审核", code="already_reviewed", details={"status": exchange.status})
    if _own_exchange(actor, exchange):
        raise _own_exchange_refused()
    exchange.status = "approved" if approve else "rejected"
    exchange.reject_reason = None if approve else reason
    exchange.reviewed_by_id, exchange.reviewed_at = actor.id, clock.now()
    _settle(exchange)
    audit.record(actor, "quota.exchange_approve" if approve else "quota.exchange_reject", "exchange", exchange.id,
                 reason=reason)
    db.session.commit()
    return exchange


def cancel_exchange(actor, exchange, reason=None):
    """Cancel an exchange (its managers) or withdraw one's own pending proposal; nothing of it counts any more.

    Its talks and attendances stay on record but stop counting, and the points they earned are taken back by
    compensating ledger rows. Cancelling again returns the exchange unchanged.
    """
    # Locked so that two cancels, or a cancel and a check-in, cannot interleave (see _insert_attendance).
    exchange = _locked(exchange)
    before = exchange.cancelled_from if exchange.status == "cancelled" else exchange.status
    if not can_manage_exchange(actor, exchange) and not (exchange.proposed_by_id == actor.id
                                                          and before == "pending"):
        raise Forbidden("只能撤回自己提议且待审核的交流；已通过的交流由支部书记取消")
    if exchange.status == "cancelled":
        return exchange
    if exchange.status == "rejected":
        raise Conflict("已退回的交流无需取消", code="exchange_rejected")
    reason = (reason or "").strip() or None
    _refuse_unsafe_reason(reason)
    # Cancelling one that has begun rewrites what already counted: the record has to say why.
    if exchange.status == "approved" and clock.now() >= exchange.starts_at and reason is None:
        raise Invalid.field("交流已开始或已举行，取消时请填写原因", "reason", "已开始的交流取消时必填")
    speaker_ids = [s.member_id for s in exchange.speakers]
    attendee_ids = list(db.session.scalars(select(Attendance.member_id).where(Attendance.exchange_id == exchange.id)
                                           .order_by(Attendance.member_id)))
    if exchange.status == "approved":
        meta = {"exchange_id": exchange.id, "cancelled": True}
        for member_id in speaker_ids:
            points.revoke(_talk_key(exchange.id, member_id), meta=meta)
        for member_id in attendee_ids:
            points.revoke(_attend_key(exchange.id, member_id), meta=meta)
    exchange.cancelled_from, exchange.status = exchange.status, "cancelled"
    exchange.cancelled_at, exchange.cancelled_by_id, exchange.cancel_reason = clock.now(), actor.id, reason
    audit.record(actor, "quota.exchange_cancel", "exchange", exchange.id, title=exchange.title, reason=reason,
                 was=exchange.cancelled_from, starts_at=exchange.starts_at.isoformat(), speaker_ids=speaker_ids,
                 attendee_count=len(attendee_ids))
    db.session.commit()
    return exchange


def _locked(exchange, share=False):
    """Re-read an exchange under a row lock (FOR SHARE with share=True); SQLite's writers are serial anyway."""
    return lock_row(Exchange, exchange.id, share)


def _own_exchange(actor, exchange):
    """Whether reviewing would be approving one's own: the actor created or proposed it, or speaks at it."""
    return (actor.id in (exchange.created_by_id, exchange.proposed_by_id)
            or actor.id in {s.member_id for s in exchange.speakers})


def _own_exchange_refused():
    return Forbidden("不能审核自己主讲或自己提交的交流，请由上级党委管理员或其他支部书记审核", code="own_exchange")


def _refuse_cancelled(exchange):
    if exchange.status == "cancelled":
        raise Conflict("该交流已取消", code="exchange_cancelled",
                       details={"cancelled_at": exchange.cancelled_at.isoformat()})


def _check_window(starts_at, ends_at):
    if ends_at <= starts_at:
        raise Invalid.field("结束时间应晚于开始时间", "ends_at", "应晚于开始时间")
    if ends_at - starts_at > timedelta(hours=MAX_EXCHANGE_HOURS):
        raise Invalid.field(f"一次交流不应超过 {MAX_EXCHANGE_HOURS} 小时", "ends_at", "时间过长")


def _check_where(place, online_url):
    if not place and not online_url:
        raise Invalid.field("请填写地点或线上链接", "place", "地点或线上链接至少填一项")


def _local_year(moment):
    return clock.to_local(moment).year


def _set_speakers(exchange, member_ids):
    if len(set(member_ids)) != len(member_ids):
        raise Invalid.field("主讲人重复", "speaker_ids", "不能重复")
    if len(exchange.speakers) + len(member_ids) > MAX_SPEAKERS:
        raise Invalid.field(f"主讲人最多 {MAX_SPEAKERS} 位", "speaker_ids", "过多")
    if not member_ids:
        return
    found = set(db.session.scalars(select(Member.id).where(Member.id.in_(member_ids), Member.active.is_(True),
                                                          _audience_clause(exchange))))
    unknown = [m for m in member_ids if m not in found]
    if unknown:
        raise Invalid.field("主讲人须为本支部（共享交流为本党委）的在册党员", "speaker_ids", f"无效的党员：{unknown}")
    attending = list(db.session.scalars(select(Attendance.member_id).where(
        Attendance.exchange_id == exchange.id, Attendance.member_id.in_(member_ids))))
    if attending:
        raise Conflict("已签到的参会党员不能再设为主讲人", code="speaker_attending", details={"member_ids": attending})
    for member_id in member_ids:
        exchange.speakers.append(ExchangeSpeaker(exchange_id=exchange.id, member_id=member_id))
    db.session.flush()


def _talk_key(exchange_id, member_id):
    return f"quota:talk:{exchange_id}:{member_id}"


def _attend_key(exchange_id, member_id):
    return f"quota:attend:{exchange_id}:{member_id}"


def _award_talks(exchange, member_ids):
    for member_id in member_ids:
        points.award(member_id, "quota_talk_given", _talk_key(exchange.id, member_id),
                        occurred_at=exchange.starts_at, meta={"exchange_id": exchange.id, "title": exchange.title})


def _award_attendance(exchange, member_ids):
    for member_id in member_ids:
        points.award(member_id, "quota_exchange_attended", _attend_key(exchange.id, member_id),
                        occurred_at=exchange.starts_at, meta={"exchange_id": exchange.id, "title": exchange.title})


# --- holding: what counts and pays once an exchange has taken place ---------------------------------


def _held(exchange):
    """Whether an exchange has taken place: its end has passed."""
    return clock.now() >= exchange.ends_at


def _settle(exchange):
    """Pay an approved, held exchange's talks and attendance; each payment once, by its ledger key."""
    if exchange.status != "approved" or not _held(exchange):
        return
    _award_talks(exchange, [s.member_id for s in exchange.speakers])
    _award_attendance(exchange, list(db.session.scalars(
        select(Attendance.member_id).where(Attendance.exchange_id == exchange.id).order_by(Attendance.member_id))))
    if exchange.settled_at is None:
        exchange.settled_at = clock.now()


def settle_held_exchanges():
    """Pay every approved exchange that has ended and is not settled yet (the scheduler's job); → how many.

    Each exchange is settled under its row lock in a transaction of its own, so a cancel waits for it (and then
    takes back what it paid) or wins (and nothing is paid); two runs at once pay nothing twice.
    """
    ids = db.session.scalars(select(Exchange.id).where(Exchange.status == "approved", Exchange.settled_at.is_(None),
                                                       Exchange.ends_at <= clock.now())
                             .order_by(Exchange.ends_at, Exchange.id)).all()
    settled = 0
    for exchange_id in ids:
        exchange = lock_row(Exchange, exchange_id)
        if exchange.settled_at is None and exchange.status == "approved":  # not settled or cancelled meanwhile
            _settle(exchange)
            settled += 1
        db.session.commit()
    return settled
