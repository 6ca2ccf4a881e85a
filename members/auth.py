"""Session tokens and the request's member: signed, expiring, revocable; roles always read from the database."""
import functools
import secrets
from datetime import timedelta

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import lazyload

from core import clock
from core.errors import Forbidden, Unauthorized
from core.extensions import db
from members.models import AuthSession, Member

SALT = "branch-study-session"


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def issue_token(member, kind="wechat"):
    """Open a session for a member and return (token, expires_at)."""
    expires_at = clock.now() + timedelta(seconds=current_app.config["TOKEN_TTL_SECONDS"])
    session = AuthSession(id=secrets.token_hex(16), member_id=member.id, expires_at=expires_at, kind=kind)
    db.session.add(session)
    token = _serializer().dumps({"sid": session.id, "mid": member.id})
    return token, expires_at


def read_token(token):
    """Return the signed claims of a token, or None if it was tampered with."""
    try:
        claims = _serializer().loads(token)
    except BadSignature:
        return None
    return claims if isinstance(claims, dict) and "sid" in claims else None


def bearer_claims():
    """Claims of the request's bearer token, checked for signature only (cheap; used for rate-limit keys)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    return read_token(header[7:].strip())


def authenticate():
    """Resolve the request's member from its bearer token, or raise 401."""
    claims = bearer_claims()
    if claims is None:
        raise Unauthorized("请先登录" if "Authorization" not in request.headers else "登录凭证无效，请重新登录",
                           code="unauthorized" if "Authorization" not in request.headers else "token_invalid")
    # Every request pays for this: one primary-key join, without the member's eager relationships
    # (branch, group, committee load only if a view touches them).
    row = db.session.execute(
        db.select(AuthSession, Member).join(Member, Member.id == AuthSession.member_id)
        .where(AuthSession.id == claims["sid"]).options(lazyload("*"))
    ).first()
    if row is None:
        raise Unauthorized("登录凭证无效，请重新登录", code="token_invalid")
    session, member = row
    if session.revoked_at is not None:
        raise Unauthorized("登录已失效，请重新登录", code="token_revoked")
    if session.expires_at <= clock.now():
        raise Unauthorized("登录已过期，请重新登录", code="token_expired")
    if not member.active:
        raise Unauthorized("账号已停用", code="member_inactive")
    g.member = member
    g.session_id = session.id
    g.member_id = member.id
    return member


def current_member():
    """The member making this request (after `login_required`)."""
    return g.member


def login_required(*roles):
    """Require a valid session; with roles, also one of those roles (else 403)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            member = authenticate()
            if roles and member.role not in roles:
                raise Forbidden("该操作仅限" + "、".join(_ROLE_NAMES[r] for r in roles))
            return view(*args, **kwargs)

        return wrapper

    return decorate


_ROLE_NAMES = {"member": "党员", "secretary": "支部书记", "admin": "党委管理员"}


def revoke_session(session_id):
    """Revoke one session (logout)."""
    db.session.execute(db.update(AuthSession).where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))


def revoke_all_sessions(member_id):
    """Revoke every session of a member (deactivation)."""
    db.session.execute(db.update(AuthSession).where(AuthSession.member_id == member_id,
                                                    AuthSession.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))


def rate_limit_key():
    """Key writes by member when a token is present, else by address."""
    claims = bearer_claims()
    return f"m:{claims['mid']}" if claims else f"ip:{request.remote_addr}"
