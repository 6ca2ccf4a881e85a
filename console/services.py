"""The console's verbs: accounts, passwords, login with lockout and desk sessions. Everything else is asked of the
other rooms."""
import re
import secrets
import string
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from sqlalchemy import delete, select, update

from console.models import ConsoleAccount, ConsoleLoginFailure
from core import audit, clock
from core.db import commit_or_conflict, dialect_insert
from core.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from core.extensions import db
from members import scope
from members.auth import revoke_session
from members.models import AuthSession, Member
from members.services import normalise_phone

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD = 10
SESSION_KIND = "console"
# Temporary passwords avoid characters read alike on a note (0/O, 1/l/I).
_TEMP_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
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


def _require_strong(password, field="password"):
    reasons = check_password_rules(password or "")
    if reasons:
        raise Invalid.field("；".join(reasons), field, *reasons, code="password_weak")


def _require_username(username):
    if not USERNAME_RE.match(username or ""):
        raise Invalid.field("用户名为 3–64 位字母、数字、下划线、点或短横线", "username", "格式不正确",
                            code="username_invalid")


def _commit_or_taken():
    commit_or_conflict(Conflict.field("用户名已被其他账号使用", "username", "已被使用", code="username_taken"))


def temporary_password():
    """A one-time password: 12 characters with letters and digits, none read alike."""
    while True:
        candidate = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(12))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


# --- accounts -------------------------------------------------------------------------------------

def set_password(actor, phone, username, password):
    """Create or update the console account of a secretary or admin, found by phone (the CLI)."""
    normalised = normalise_phone(phone)
    member = db.session.scalar(select(Member).where(Member.phone == normalised)) if normalised else None
    if member is None:
        raise NotFound("名册中没有这个手机号")
    if not scope.is_manager(member):
        raise Invalid("只有支部书记和党委管理员可以开通工作台账号", code="role_not_allowed")
    _require_username(username)
    _require_strong(password)
    account = db.session.scalar(select(ConsoleAccount).where(ConsoleAccount.member_id == member.id))
    if account is None:
        account = ConsoleAccount(member_id=member.id)
        db.session.add(account)
    else:
        end_sessions(member.id)
    account.username = username.strip().lower()
    account.password_hash = _hasher.hash(password)
    account.must_change_password = False
    _clear_failures(account)
    audit.record(actor, "console.set_password", "member", member.id, username=account.username)
    _commit_or_taken()
    return account


def accounts_in_scope(actor):
    """A select of (member, account or None) for the secretaries and admins an admin may give accounts to."""
    return (select(Member, ConsoleAccount).outerjoin(ConsoleAccount, ConsoleAccount.member_id == Member.id)
            .where(scope.members_in_scope_clause(actor), Member.role.in_(scope.MANAGER_ROLES), Member.active.is_(True))
            .order_by(Member.role.desc(), Member.branch_id, Member.name, Member.id))


def _desk_member(actor, member_id):
    if not scope.manages_committee(actor):
        raise Forbidden("只有党委管理员可以开通或重置工作台账号")
    member = scope.member_for(actor, member_id)
    if member.id == actor.id:
        raise Forbidden("不能为自己开通或重置账号，请使用“修改密码”")
    if not scope.is_manager(member) or not member.active:
        raise Invalid("只有在任的支部书记和党委管理员可以开通工作台账号", code="role_not_allowed")
    return member


def create_account(actor, member_id, username):
    """An admin opens a console account for a secretary or admin of their subtree → (account, one-time password)."""
    member = _desk_member(actor, member_id)
    _require_username(username)
    if db.session.scalar(select(ConsoleAccount.id).where(ConsoleAccount.member_id == member.id)):
        raise Conflict("该成员已有工作台账号，如忘记密码请重置", code="account_exists")
    password = temporary_password()
    account = ConsoleAccount(member_id=member.id, username=username.strip().lower(),
                             password_hash=_hasher.hash(password), must_change_password=True)
    db.session.add(account)
    audit.record(actor, "console.account_create", "member", member.id, username=account.username)
    _commit_or_taken()
    return account, password


def reset_password(actor, member_id):
    """An admin resets a desk user's password → (account, one-time password); the user's sessions end."""
    member = _desk_member(actor, member_id)
    account = db.session.scalar(select(ConsoleAccount).where(ConsoleAccount.member_id == member.id))
    if account is None:
        raise NotFound("该成员还没有工作台账号")
    password = temporary_password()
    account.password_hash = _hasher.hash(password)
    account.must_change_password = True
    _clear_failures(account)
    end_sessions(member.id)
    audit.record(actor, "console.password_reset", "member", member.id, username=account.username)
    db.session.commit()
    return account, password


def change_password(member, session_id, current, new):
    """A desk user changes their own password; their other sessions end, this one stays."""
    account = db.session.scalar(select(ConsoleAccount).where(ConsoleAccount.member_id == member.id))
    if not _verify(account.password_hash, current):
        raise Invalid.field("当前密码不正确", "current", "不正确", code="password_wrong")
    _require_strong(new, "new")
    if new == current:
        raise Invalid.field("新密码不能与当前密码相同", "new", "与当前密码相同", code="password_same")
    account.password_hash = _hasher.hash(new)
    account.must_change_password = False
    end_sessions(member.id, keep=session_id)
    audit.record(member, "console.password_change", "member", member.id)
    db.session.commit()


# --- login, lockout and sessions -------------------------------------------------------------------------

def authenticate(username, password, address):
    """Check a username and password from an address → (member, account); 401 wrong, 423 locked, 403 disabled."""
    now = clock.now()
    account = db.session.scalar(select(ConsoleAccount).where(
        ConsoleAccount.username == (username or "").strip().lower()))
    if account is None:
        _verify(_DUMMY_HASH, password)
        raise LoginFailed("用户名或密码错误")
    locked_until = db.session.scalar(select(ConsoleLoginFailure.locked_until).where(
        ConsoleLoginFailure.account_id == account.id, ConsoleLoginFailure.address == address,
        ConsoleLoginFailure.locked_until > now))
    if locked_until is not None:
        raise AppError(f"连续输错密码次数过多，本机登录已临时锁定，请于 {clock.format_cn(locked_until)} 后再试",
                       code="account_locked", status=423)
    member = db.session.get(Member, account.member_id)
    if not _verify(account.password_hash, password):
        _record_failure(account, address, now)
        raise LoginFailed("用户名或密码错误")
    if not member.active or not scope.is_manager(member):
        raise Forbidden("该账号已停用或不再担任支部书记、党委管理员", code="account_disabled")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    db.session.execute(delete(ConsoleLoginFailure).where(ConsoleLoginFailure.account_id == account.id,
                                                         ConsoleLoginFailure.address == address))
    account.last_login_at = now
    audit.record(member, "console.login", "member", member.id, address=address)
    db.session.commit()
    return member, account


def _verify(password_hash, password):
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _record_failure(account, address, now):
    # One atomic upsert: two wrong guesses racing in both count.
    limit = current_app.config["CONSOLE_LOCKOUT_FAILURES"]
    stmt = dialect_insert(ConsoleLoginFailure).values(account_id=account.id, address=address, failed_count=1,
                                                      updated_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=["account_id", "address"],
                                      set_={"failed_count": ConsoleLoginFailure.failed_count + 1, "updated_at": now})
    count = db.session.scalar(stmt.returning(ConsoleLoginFailure.failed_count))
    if count >= limit:
        until = now + timedelta(minutes=current_app.config["CONSOLE_LOCKOUT_MINUTES"])
        db.session.execute(update(ConsoleLoginFailure).where(ConsoleLoginFailure.account_id == account.id,
                                                             ConsoleLoginFailure.address == address)
                           .values(failed_count=0, locked_until=until))
        audit.record(None, "console.locked", "member", account.member_id, username=account.username, address=address)
    db.session.commit()


def _clear_failures(account):
    if account.id is not None:
        db.session.execute(delete(ConsoleLoginFailure).where(ConsoleLoginFailure.account_id == account.id))


def open_session(member):
    """Start a desk session for a member who just logged in; returns its id (kept in the signed cookie)."""
    row = AuthSession(id=secrets.token_hex(16), member_id=member.id, kind=SESSION_KIND,
                      expires_at=clock.now() + timedelta(hours=current_app.config["CONSOLE_SESSION_HOURS"]))
    db.session.add(row)
    db.session.commit()
    return row.id


def session_member(session_id):
    """(member, account) of a desk session still good on the server (not ended, not expired, still a desk user)."""
    if not isinstance(session_id, str):
        return None
    row = db.session.execute(
        select(AuthSession, Member, ConsoleAccount).join(Member, Member.id == AuthSession.member_id)
        .join(ConsoleAccount, ConsoleAccount.member_id == Member.id)
        .where(AuthSession.id == session_id, AuthSession.kind == SESSION_KIND)).first()
    if row is None:
        return None
    session, member, account = row
    if session.revoked_at is not None or session.expires_at <= clock.now():
        return None
    if not member.active or not scope.is_manager(member):
        return None
    return member, account


def end_sessions(member_id, keep=None):
    """End a member's desk sessions (all, or all but `keep`), in the caller's transaction."""
    stmt = update(AuthSession).where(AuthSession.member_id == member_id, AuthSession.kind == SESSION_KIND,
                                     AuthSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    db.session.execute(stmt.values(revoked_at=clock.now()))


def logout(member, session_id):
    """End this desk session on the server: the cookie, replayed, is no session any more."""
    revoke_session(session_id)
    audit.record(member, "console.logout", "member", member.id)
    db.session.commit()
