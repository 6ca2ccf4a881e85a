"""The console's verbs: accounts and password login with lockout. Everything else is asked of the other rooms."""
import re
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core import audit, clock
from core.errors import AppError, Conflict, Invalid, NotFound
from core.extensions import db
from console.models import ConsoleAccount
from members.models import Member
from members.services import normalise_phone

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verified when the username is unknown, so a wrong username takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class LoginFailed(AppError):
    status, code = 401, "login_failed"


def check_password_rules(password):
    """Reasons a new password is not acceptable (empty when it is)."""
    reasons = []
    if len(password) < MIN_PASSWORD:
        reasons.append(f"密码至少 {MIN_PASSWORD} 位")
    if password.isdigit() or password.isalpha():
        reasons.append("密码需同时包含字母和数字")
    return reasons


def set_password(actor, phone, username, password):
    """Create or update the console account of a secretary or admin, found by phone."""
    normalised = normalise_phone(phone)
    member = db.session.scalar(select(Member).where(Member.phone == normalised)) if normalised else None
    if member is None:
        raise NotFound("名册中没有这个手机号")
    if member.role not in ("secretary", "admin"):
        raise Invalid("只有支部书记和党委管理员可以开通工作台账号", code="role_not_allowed")
    if not USERNAME_RE.match(username or ""):
        raise Invalid("用户名为 3–64 位字母、数字、下划线、点或短横线", code="username_invalid")
    reasons = check_password_rules(password or "")
    if reasons:
        raise Invalid("；".join(reasons), code="password_weak")
    account = db.session.scalar(select(ConsoleAccount).where(ConsoleAccount.member_id == member.id))
    if account is None:
        account = ConsoleAccount(member_id=member.id, failed_count=0, session_version=1)
        db.session.add(account)
    else:
        account.session_version += 1
    account.username = username.strip().lower()
    account.password_hash = _hasher.hash(password)
    account.failed_count, account.locked_until = 0, None
    audit.record(actor, "console.set_password", "member", member.id, username=account.username)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("用户名已被其他账号使用", code="username_taken")
    return account


def authenticate(username, password):
    """Check a username and password; return the member, or raise 401 (wrong) / 423 (locked)."""
    now = clock.now()
    account = db.session.scalar(select(ConsoleAccount).where(
        ConsoleAccount.username == (username or "").strip().lower()))
    if account is None:
        _verify(_DUMMY_HASH, password)
        raise LoginFailed("用户名或密码错误")
    if account.locked_until is not None and account.locked_until > now:
        raise AppError(f"连续输错密码次数过多，账号已临时锁定，请于 {clock.format_cn(account.locked_until)} 后再试",
                       code="account_locked", status=423)
    member = db.session.get(Member, account.member_id)
    if not _verify(account.password_hash, password):
        _record_failure(account, now)
        raise LoginFailed("用户名或密码错误")
    if not member.active or member.role not in ("secretary", "admin"):
        raise AppError("该账号已停用或不再担任支部书记、党委管理员", code="account_disabled", status=403)
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.failed_count, account.locked_until, account.last_login_at = 0, None, now
    audit.record(member, "console.login", "member", member.id)
    db.session.commit()
    return member, account


def _verify(password_hash, password):
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _record_failure(account, now):
    # One atomic UPDATE: two wrong guesses racing in both count.
    limit = current_app.config["CONSOLE_LOCKOUT_FAILURES"]
    db.session.execute(update(ConsoleAccount).where(ConsoleAccount.id == account.id)
                       .values(failed_count=ConsoleAccount.failed_count + 1))
    db.session.refresh(account)
    if account.failed_count >= limit:
        account.locked_until = now + timedelta(minutes=current_app.config["CONSOLE_LOCKOUT_MINUTES"])
        account.failed_count = 0
        audit.record(None, "console.locked", "member", account.member_id, username=account.username)
    db.session.commit()


def account_for_session(member_id, version):
    """The member of a console session, if the session is still good (account, version, active, role)."""
    row = db.session.execute(select(ConsoleAccount, Member).join(Member, Member.id == ConsoleAccount.member_id)
                             .where(ConsoleAccount.member_id == member_id)).first()
    if row is None:
        return None
    account, member = row
    if account.session_version != version or not member.active or member.role not in ("secretary", "admin"):
        return None
    return member


def logout(member):
    """Record a logout in the audit trail."""
    audit.record(member, "console.logout", "member", member.id)
    db.session.commit()
