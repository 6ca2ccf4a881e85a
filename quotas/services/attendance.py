"""Attendance at an exchange: the secretary's marks, and the member's check-in by code (guesses limited)."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from core import audit, clock
from core.cache import get_redis, key
from core.db import dialect_insert
from core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from core.extensions import db
from learning import points
from members.models import Member
from quotas import rules
from quotas.models import Attendance
from quotas.services.exchanges import (
    _attend_key,
    _audience_clause,
    _award_attendance,
    _held,
    _in_audience,
    _locked,
    _refuse_cancelled,
)


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
        raise Invalid.field("只能登记本支部（共享交流为本党委）的在册党员", "member_ids", f"无效的党员：{unknown}")
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
    points.revoke(_attend_key(exchange.id, member_id))
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
    payload = rules.qr_payload(exchange.id, code)
    return {"code": code, "qr_payload": payload, "qr_image": rules.qr_image(payload), "valid_from": opens,
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
        raise RateLimited("签到码错误次数过多，请稍后再试", details={"retry_after": max(int(ttl), 1)})


def _count_wrong_code(member):
    redis = get_redis()
    pipe = redis.pipeline()
    pipe.incr(_guess_key(member))
    pipe.expire(_guess_key(member), current_app.config["QUOTA_CHECKIN_WRONG_WINDOW_SECONDS"], nx=True)
    pipe.execute()
