"""The verbs of 1+4+1: policies, exchanges, attendance and check-in, book reports, postings. They own transactions."""
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from core import audit, clock
from core.db import dialect_insert
from core.cache import get_redis, key
from core.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from core.extensions import db
from core.tables import download, to_csv, to_xlsx
from members.models import Branch, Member
from members.scope import can_manage_branch, managed_branch_ids
from quotas import rules, stats
from quotas.models import (SCHEDULED_LABEL, STATUS_LABELS, Attendance, BookReport, BranchQuotaPolicy, Exchange,
                           ExchangeSpeaker, QuotaPolicy, QuotaPosting)

MAX_SPEAKERS = 10
MAX_EXCHANGE_HOURS = 12


def _points():
    from learning import points

    return points


# --- policy ------------------------------------------------------------------------------------

# Reads of the policy live in stats (the tallies need them); the verbs that change it are here.
effective_policy = stats.effective_policy
committee_policy = stats.committee_policy


def set_committee_policy(actor, committee, values):
    """Set (create or replace) a committee's quotas for a year."""
    row = _upsert_policy(QuotaPolicy, {"committee_id": committee.id}, actor, values)
    audit.record(actor, "quota.policy_set", "committee", committee.id, **values)
    _commit_or_conflict("配额设置正被同时修改，请重试")
    return stats.policy_dict(row, "committee")


def set_branch_policy(actor, branch, values):
    """Override a branch's quotas for a year."""
    row = _upsert_policy(BranchQuotaPolicy, {"branch_id": branch.id}, actor, values)
    audit.record(actor, "quota.branch_policy_set", "branch", branch.id, **values)
    _commit_or_conflict("配额设置正被同时修改，请重试")
    return stats.policy_dict(row, "branch")


def clear_branch_policy(actor, branch, year):
    """Drop a branch's override so the committee's quotas apply again."""
    row = db.session.scalar(select(BranchQuotaPolicy).where(BranchQuotaPolicy.branch_id == branch.id,
                                                            BranchQuotaPolicy.year == year))
    if row is not None:
        db.session.delete(row)
        audit.record(actor, "quota.branch_policy_cleared", "branch", branch.id, year=year)
        db.session.commit()
    return effective_policy(branch, year)


def _upsert_policy(model, owner, actor, values):
    filters = [getattr(model, k) == v for k, v in owner.items()] + [model.year == values["year"]]
    row = db.session.scalar(select(model).where(*filters))
    if row is None:
        row = model(**owner, year=values["year"])
        db.session.add(row)
    row.talks, row.attends, row.books = values["talks"], values["attends"], values["books"]
    row.updated_by_id = actor.id
    return row


def _commit_or_conflict(message):
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(message, code="concurrent_update")


# --- exchanges: visibility ----------------------------------------------------------------------

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
    exchange = db.session.get(Exchange, exchange_id)
    if exchange is None:
        raise NotFound()
    if can_manage_exchange(viewer, exchange):
        return exchange
    # A proposal is seen by its proposer and the secretaries until it is approved.
    visible = exchange.proposed_by_id == viewer.id or (_shown_to_audience(exchange)
                                                        and _in_audience(viewer, exchange))
    if not visible:
        raise NotFound()
    if manage:
        raise Forbidden("仅主办支部的支部书记或党委管理员可执行此操作")
    return exchange


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


# --- exchanges: verbs ---------------------------------------------------------------------------

def create_exchange(actor, data):
    """Record an exchange (secretary/admin: approved at once) or propose one (member: pending approval).

    A manager who is among the speakers proposes it like a member: nobody approves their own talk.
    Returns (exchange, created): a retried identical request returns the exchange it already made.
    """
    branch_id = data.pop("branch_id", None) or actor.branch_id
    if branch_id is None:
        raise Invalid("请指定主办支部", details={"fields": {"branch_id": ["必填"]}})
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
    db.session.add(exchange)
    try:
        db.session.flush()
    except IntegrityError:  # the same request racing in twice
        db.session.rollback()
        return _existing_exchange(actor, _same_exchange(branch.id, data["starts_at"], data["title"])), False
    _set_speakers(exchange, speaker_ids)
    if not speaker_ids and not exchange.guest_speakers:
        raise Invalid("请填写主讲人", details={"fields": {"speaker_ids": ["至少一位主讲人"]}})
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
        before = {s.member_id for s in exchange.speakers}
        after = set(speaker_ids)
        for speaker in list(exchange.speakers):
            if speaker.member_id not in after:
                exchange.speakers.remove(speaker)
        db.session.flush()
        _set_speakers(exchange, [m for m in speaker_ids if m not in before])
        if exchange.status == "approved":
            for member_id in before - after:
                _points().revoke(_talk_key(exchange.id, member_id))
    if not exchange.speakers and not exchange.guest_speakers:
        raise Invalid("请填写主讲人", details={"fields": {"speaker_ids": ["至少一位主讲人"]}})
    _settle(exchange)
    if can_manage_exchange(actor, exchange):
        audit.record(actor, "quota.exchange_update", "exchange", exchange.id, fields=sorted(changes))
    db.session.commit()
    return exchange


def _require_reason(approve, reason):
    if not approve and not (reason or "").strip():
        raise Invalid("退回时请填写原因", details={"fields": {"reason": ["退回时必填"]}})


def review_exchange(actor, exchange, approve, reason=None):
    """Approve a proposed exchange (its speakers' talks then count) or reject it with a reason."""
    _require_reason(approve, reason)
    exchange = db.session.scalar(select(Exchange).where(Exchange.id == exchange.id)
                                 .with_for_update(of=Exchange).execution_options(populate_existing=True))
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
    # Cancelling one that has begun rewrites what already counted: the record has to say why.
    if exchange.status == "approved" and clock.now() >= exchange.starts_at and reason is None:
        raise Invalid("交流已开始或已举行，取消时请填写原因", details={"fields": {"reason": ["已开始的交流取消时必填"]}})
    speaker_ids = [s.member_id for s in exchange.speakers]
    attendee_ids = list(db.session.scalars(select(Attendance.member_id).where(Attendance.exchange_id == exchange.id)
                                           .order_by(Attendance.member_id)))
    if exchange.status == "approved":
        meta = {"exchange_id": exchange.id, "cancelled": True}
        for member_id in speaker_ids:
            _points().revoke(_talk_key(exchange.id, member_id), meta=meta)
        for member_id in attendee_ids:
            _points().revoke(_attend_key(exchange.id, member_id), meta=meta)
    exchange.cancelled_from, exchange.status = exchange.status, "cancelled"
    exchange.cancelled_at, exchange.cancelled_by_id, exchange.cancel_reason = clock.now(), actor.id, reason
    audit.record(actor, "quota.exchange_cancel", "exchange", exchange.id, title=exchange.title, reason=reason,
                 was=exchange.cancelled_from, starts_at=exchange.starts_at.isoformat(), speaker_ids=speaker_ids,
                 attendee_count=len(attendee_ids))
    db.session.commit()
    return exchange


def _locked(exchange, share=False):
    """Re-read an exchange under a row lock (FOR SHARE with share=True); SQLite's writers are serial anyway."""
    return _locked_id(exchange.id, share)


def _locked_id(exchange_id, share=False):
    return db.session.scalar(select(Exchange).where(Exchange.id == exchange_id)
                             .with_for_update(of=Exchange, read=share).execution_options(populate_existing=True))


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
        raise Invalid("结束时间应晚于开始时间", details={"fields": {"ends_at": ["应晚于开始时间"]}})
    if ends_at - starts_at > timedelta(hours=MAX_EXCHANGE_HOURS):
        raise Invalid(f"一次交流不应超过 {MAX_EXCHANGE_HOURS} 小时", details={"fields": {"ends_at": ["时间过长"]}})


def _check_where(place, online_url):
    if not place and not online_url:
        raise Invalid("请填写地点或线上链接", details={"fields": {"place": ["地点或线上链接至少填一项"]}})


def _local_year(moment):
    return clock.to_local(moment).year


def _set_speakers(exchange, member_ids):
    if len(set(member_ids)) != len(member_ids):
        raise Invalid("主讲人重复", details={"fields": {"speaker_ids": ["不能重复"]}})
    if len(exchange.speakers) + len(member_ids) > MAX_SPEAKERS:
        raise Invalid(f"主讲人最多 {MAX_SPEAKERS} 位", details={"fields": {"speaker_ids": ["过多"]}})
    if not member_ids:
        return
    found = set(db.session.scalars(select(Member.id).where(Member.id.in_(member_ids), Member.active.is_(True),
                                                          _audience_clause(exchange))))
    unknown = [m for m in member_ids if m not in found]
    if unknown:
        raise Invalid("主讲人须为本支部（共享交流为本党委）的在册党员",
                      details={"fields": {"speaker_ids": [f"无效的党员：{unknown}"]}})
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
        _points().award(member_id, "quota_talk_given", _talk_key(exchange.id, member_id),
                        occurred_at=exchange.starts_at, meta={"exchange_id": exchange.id, "title": exchange.title})


def _award_attendance(exchange, member_ids):
    for member_id in member_ids:
        _points().award(member_id, "quota_exchange_attended", _attend_key(exchange.id, member_id),
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
        exchange = _locked_id(exchange_id)
        if exchange.settled_at is None and exchange.status == "approved":  # not settled or cancelled meanwhile
            _settle(exchange)
            settled += 1
        db.session.commit()
    return settled


# --- attendance and check-in -----------------------------------------------------------------------

def attendance_rows(exchange):
    """Who attended an exchange, by name, and how they were recorded."""
    rows = db.session.execute(select(Attendance, Member).join(Member, Member.id == Attendance.member_id)
                              .where(Attendance.exchange_id == exchange.id).order_by(Member.name, Member.id))
    return [{"member_id": m.id, "name": m.name, "via": a.via, "recorded_at": a.recorded_at} for a, m in rows]


def mark_attendance(actor, exchange, member_ids):
    """Mark members present (idempotent: those already present are left as they are); it counts once held."""
    _require_approved(exchange)
    member_ids = list(dict.fromkeys(member_ids))
    found = set(db.session.scalars(select(Member.id).where(Member.id.in_(member_ids), Member.active.is_(True),
                                                          _audience_clause(exchange))))
    unknown = [m for m in member_ids if m not in found]
    if unknown:
        raise Invalid("只能登记本支部（共享交流为本党委）的在册党员",
                      details={"fields": {"member_ids": [f"无效的党员：{unknown}"]}})
    speakers = {s.member_id for s in exchange.speakers} & set(member_ids)
    if speakers:
        raise Conflict("主讲人不计为本场交流的参加者", code="speaker_not_attendee",
                       details={"member_ids": sorted(speakers)})
    added = _insert_attendance(exchange, member_ids, "secretary", actor.id)
    audit.record(actor, "quota.attendance_mark", "exchange", exchange.id, added=added)
    db.session.commit()
    return {"added": len(added), "already": len(member_ids) - len(added)}


def remove_attendance(actor, exchange, member_id):
    """Withdraw a member's attendance (a mistaken mark); the points it earned are revoked."""
    _refuse_cancelled(_locked(exchange, share=True))
    row = db.session.scalar(select(Attendance).where(Attendance.exchange_id == exchange.id,
                                                     Attendance.member_id == member_id))
    if row is None:
        raise NotFound("该党员未登记参加本场交流")
    db.session.delete(row)
    _points().revoke(_attend_key(exchange.id, member_id))
    audit.record(actor, "quota.attendance_remove", "exchange", exchange.id, member_id=member_id)
    db.session.commit()


def _insert_attendance(exchange, member_ids, via, recorded_by_id):
    if not member_ids:
        return []
    # A cancel committed since the exchange was read must win: re-read it under a shared lock before counting.
    _require_approved(_locked(exchange, share=True))
    now = clock.now()
    stmt = (dialect_insert(Attendance)
            .values([{"exchange_id": exchange.id, "member_id": m, "via": via, "recorded_by_id": recorded_by_id,
                      "recorded_at": now} for m in member_ids])
            .on_conflict_do_nothing().returning(Attendance.member_id))
    added = list(db.session.scalars(stmt))
    if _held(exchange):  # before its end, the settle job pays it when the end passes
        _award_attendance(exchange, added)
    return added


def _require_approved(exchange):
    _refuse_cancelled(exchange)
    if exchange.status != "approved":
        raise Conflict("该交流尚未通过审核", code="exchange_not_approved")


def checkin_window(exchange):
    """[opens, closes] of an exchange's check-in: its time window widened by the configured margin."""
    margin = timedelta(minutes=current_app.config["QUOTA_CHECKIN_MARGIN_MINUTES"])
    return exchange.starts_at - margin, exchange.ends_at + margin


def checkin_code(exchange):
    """The exchange's 6-digit code, its QR payload and when it is valid (for its managers)."""
    _require_approved(exchange)
    code = rules.checkin_code(current_app.config["SECRET_KEY"], exchange.id, exchange.checkin_salt)
    opens, closes = checkin_window(exchange)
    return {"code": code, "qr_payload": rules.qr_payload(exchange.id, code), "valid_from": opens,
            "valid_until": closes}


def check_in(member, exchange, code):
    """Check a member in with the exchange's code, inside its window; a second check-in changes nothing."""
    _guard_guessing(member)
    # Who may check in is decided before when: someone outside the audience hears 403, whatever the hour.
    if not _in_audience(member, exchange):
        raise Forbidden("您不在本场交流的参加范围内", code="not_in_audience")
    _require_approved(exchange)
    now = clock.now()
    opens, closes = checkin_window(exchange)
    if now < opens:
        raise Conflict(f"签到尚未开始，开放时间 {clock.format_cn(opens)}", code="checkin_not_open")
    if now > closes:
        raise Conflict("签到已结束，签到码已过期", code="checkin_closed")
    expected = rules.checkin_code(current_app.config["SECRET_KEY"], exchange.id, exchange.checkin_salt)
    if not rules.code_matches(expected, code):
        _count_wrong_code(member)
        raise Invalid("签到码错误，请核对后重试", code="checkin_code_wrong")
    if member.id in {s.member_id for s in exchange.speakers}:
        raise Conflict("主讲人无需签到，本场计为交流发言", code="speaker_not_attendee")
    added = _insert_attendance(exchange, [member.id], "checkin", None)
    db.session.commit()
    return {"exchange_id": exchange.id, "checked_in": True, "first_time": bool(added)}


def _guess_key(member):
    return key("quota", "checkin-wrong", member.id)


def _guard_guessing(member):
    # Counted per member across all exchanges: 10^6 codes cannot be walked a few attempts at a time.
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    failures = get_redis().get(_guess_key(member))
    if failures is not None and int(failures) >= current_app.config["QUOTA_CHECKIN_MAX_WRONG"]:
        ttl = get_redis().ttl(_guess_key(member))
        raise AppError("签到码错误次数过多，请稍后再试", code="rate_limited", status=429,
                       details={"retry_after": max(int(ttl), 1)})


def _count_wrong_code(member):
    redis = get_redis()
    pipe = redis.pipeline()
    pipe.incr(_guess_key(member))
    pipe.expire(_guess_key(member), current_app.config["QUOTA_CHECKIN_WRONG_WINDOW_SECONDS"], nx=True)
    pipe.execute()


# --- books ---------------------------------------------------------------------------------------

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
            raise Invalid("ISBN 校验失败，请核对书号", code="isbn_invalid",
                          details={"fields": {"isbn": ["ISBN-10 或 ISBN-13 校验位不正确"]}})
    minimum = current_app.config["QUOTA_REFLECTION_MIN_CHARS"]
    if rules.reflection_length(data["reflection"]) < minimum:
        raise Invalid(f"读书心得不少于 {minimum} 字", code="reflection_too_short",
                      details={"fields": {"reflection": [f"不少于 {minimum} 字（不计空白）"]}})
    finished = data["finished_on"]
    today = clock.today()
    if finished > today:
        raise Invalid("读完日期不能晚于今天", details={"fields": {"finished_on": ["不能晚于今天"]}})
    if finished.year < today.year - 1:
        raise Invalid("只能报告今年或去年读完的书", details={"fields": {"finished_on": ["年份过早"]}})
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
    db.session.add(report)
    try:
        db.session.commit()
    except IntegrityError:  # the same report racing in twice from a flaky network
        db.session.rollback()
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
    _commit_or_conflict("本年度已报告过这本书，同一本书一年内只计一次")
    return report


def review_book(actor, report, approve, reason=None):
    """Approve a pending book report (it then counts, and earns points) or reject it with a reason; the member
    hears the result in their inbox (written in this transaction: a failed review tells nothing)."""
    # Against the rooms' arrows, imported here, as a quiz edit asks notifications (README, Layout).
    from notifications.services import notify_book_reviewed

    _require_reason(approve, reason)
    # Locked so two reviewers clicking at once cannot both pass the pending check.
    report = db.session.scalar(select(BookReport).where(BookReport.id == report.id)
                               .with_for_update(of=BookReport).execution_options(populate_existing=True))
    if report.status != "pending":
        raise Conflict("该读书报告不在待审核状态", code="already_reviewed", details={"status": report.status})
    report.status = "approved" if approve else "rejected"
    report.reject_reason = None if approve else reason
    report.reviewed_by_id, report.reviewed_at = actor.id, clock.now()
    if approve:
        _points().award(report.member_id, "quota_book_read", f"quota:book:{report.id}",
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


# --- progress ------------------------------------------------------------------------------------

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
    db.session.add(posting)
    try:
        db.session.flush()
    except IntegrityError:  # two secretaries (or the scheduler) posting the same month at once
        db.session.rollback()
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
