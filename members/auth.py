"""Session tokens and the request's member: signed, expiring, revocable; the member row is cached until it changes."""
import functools
import json
import secrets
from datetime import date, datetime, timedelta
from typing import NamedTuple

from flask import current_app, g, has_request_context, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core import clock, fresh
from core.cache import key
from core.errors import Forbidden, Unauthorized
from core.extensions import db
from members import authlog, ratelimit
from members.models import AuthSession, Member

SALT = "branch-study-session"


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def issue_token(member, kind="wechat"):
    """Open a session for a member and return (token, expires_at). The token carries the member's claims and their
    auth version, read together in one statement here (members.authlog), so a change committed after this read has a
    newer version and makes the token fall back to the tables."""
    expires_at = clock.now() + timedelta(seconds=current_app.config["TOKEN_TTL_SECONDS"])
    row = db.session.execute(db.select(Member.auth_version, *(getattr(Member, c) for c in authlog.CLAIMED))
                             .where(Member.id == member.id)).one()
    if not row.active:
        raise Forbidden("账号已停用，请联系支部书记", code="member_inactive")
    session = AuthSession(id=secrets.token_hex(16), member_id=member.id, expires_at=expires_at, kind=kind)
    db.session.add(session)
    token = _serializer().dumps(token_claims(session.id, member.id, row.auth_version, row.role, row.branch_id,
                                             row.committee_id, expires_at, authlog.current_epoch()))
    return token, expires_at


def token_claims(session_id, member_id, version, role, branch_id, committee_id, expires_at, epoch):
    """What a token says (signed, not secret): its session and member, and the claims members.authlog vouches for
    while its mirror's epoch lasts."""
    return {"sid": session_id, "mid": member_id, "v": version, "role": role, "branch": branch_id,
            "committee": committee_id, "exp": int(expires_at.timestamp()), "e": epoch}


def read_token(token):
    """Return the signed claims of a token, or None if it was tampered with."""
    try:
        claims = _serializer().loads(token)
    except BadSignature:
        return None
    return claims if isinstance(claims, dict) and "sid" in claims else None


def bearer_claims():
    """Claims of the request's bearer token, checked for signature only (used for rate-limit keys and by
    `authenticate`); read once a request."""
    if _CLAIMS not in request.environ:
        header = request.headers.get("Authorization", "")
        request.environ[_CLAIMS] = read_token(header[7:].strip()) if header.startswith("Bearer ") else None
    return request.environ[_CLAIMS]


_CLAIMS = "bs.bearer_claims"


def authenticate(prefetch=None):
    """Resolve the request's member from its bearer token, or raise 401.

    One Redis round trip and no SQL for a token whose claims hold (members.authlog: no revocation or change of its
    member since it was issued, as Redis's mirror says while the relay keeps it). Else one Redis round trip when the
    session is cached (core.fresh): the entry is stale as soon as the session is revoked or the member row changes
    (deactivated, role or branch changed), on every worker. Else the tables.
    `prefetch(member_id, branch_id)` names more to read in the same round trip: (entries, each with the counters it
    depends on; scripts, each (source, keys, args)). branch_id is the token's claim, None if it has none, so a
    script keyed by it may not be the member's: a view asks for a script by its full call, and one not run here (or
    run for another branch) is simply run again. Their answers are left for the view (see `prefetched` and
    `prefetched_call`). Returns the member's role;
    `current_member()` builds the Member object from the entry only when a view asks for it (a hot read served from
    its own entry never does).
    """
    claims = bearer_claims()
    if claims is None:
        raise Unauthorized("请先登录" if "Authorization" not in request.headers else "登录凭证无效，请重新登录",
                           code="unauthorized" if "Authorization" not in request.headers else "token_invalid")
    sid, mid = claims["sid"], claims.get("mid")
    more, calls = prefetch(mid, claims.get("branch")) if prefetch and isinstance(mid, int) else ([], [])
    limit = ratelimit.call(mid) if isinstance(mid, int) else None  # a write is counted in the same round trip
    authlog.retry_unmirrored()
    own = [member_gen(mid), authlog.MARKER, authlog.version_key(mid)] if isinstance(mid, int) else []
    (cached, *extra), seen, replies = fresh.read_along([_entry_key(sid), *(k for k, _ in more)],
                                                       [*own, *(c for _, counters in more for c in counters)],
                                                       [*calls, limit] if limit else calls)
    if limit:
        ratelimit.check(replies[-1] if replies else None)
        replies = replies[:-1] if replies else replies
    request.environ[_PREFETCHED] = {k: (body, seen) for (k, _), body in zip(more, extra)}
    request.environ[_CALLED] = {_call_key(*call): reply for call, reply in zip(calls, replies or [])
                                if not isinstance(reply, Exception)}  # a failed call is made again by its view
    g.member = None
    if authlog.trusted(claims, seen):
        g.member_data = _claimed_data(claims)
    else:
        g.member_data = _cached_data(cached, mid) if cached else _member_from_tables(sid, mid, seen)
    g.session_id = sid
    g.member_id = mid
    return g.member_data["role"]


def _claimed_data(claims):
    """The member's columns a trusted token claims; current_member() loads any other column on first touch."""
    return {"id": claims["mid"], "role": claims["role"], "branch_id": claims["branch"],
            "committee_id": claims["committee"], "active": True}


def _entry_key(session_id):
    return key("auth", "s", session_id)


def member_gen(member_id):
    """The counter every cached session of a member depends on."""
    return fresh.gen_key("auth", member_id)


def _member_from_tables(sid, mid, seen):
    """The member's columns (as the entry keeps them) for a live session, read in one primary-key join without
    building ORM objects; the entry is filled for the next request."""
    row = db.session.execute(
        db.select(AuthSession.member_id, AuthSession.revoked_at, AuthSession.expires_at,
                  *(getattr(Member, name).label("m_" + name) for name in _COLUMNS))
        .join(Member, Member.id == AuthSession.member_id).where(AuthSession.id == sid)
    ).first()
    if row is None or row.member_id != mid:  # a signed token always names its session's member
        raise Unauthorized("登录凭证无效，请重新登录", code="token_invalid")
    if row.revoked_at is not None:
        raise Unauthorized("登录已失效，请重新登录", code="token_revoked")
    now = clock.now()
    if row.expires_at <= now:
        raise Unauthorized("登录已过期，请重新登录", code="token_expired")
    data = _member_data(row)
    if not data["active"]:
        raise Unauthorized("账号已停用", code="member_inactive")
    ttl = min(current_app.config["HOT_CACHE_SECONDS"], (row.expires_at - now).total_seconds())
    body = json.dumps({"exp": row.expires_at.timestamp(), "m": data}, ensure_ascii=False)
    fresh.fill(_entry_key(sid), body, seen, [member_gen(mid)], ttl * 1000)
    return data


def _cached_data(body, mid):
    entry = json.loads(body)
    if entry["exp"] <= clock.now().timestamp():
        raise Unauthorized("登录已过期，请重新登录", code="token_expired")
    data = entry["m"]
    if data["id"] != mid or not data["active"]:  # never cached that way; a guard, not a path
        raise Unauthorized("登录凭证无效，请重新登录", code="token_invalid")
    return data


def _python_type(column_type):
    return getattr(column_type, "impl", column_type).python_type  # a TypeDecorator (UTCDateTime) by what it wraps


_COLUMNS = {attr.key: _python_type(attr.columns[0].type) for attr in sa_inspect(Member).column_attrs}


def _member_data(row):
    return {name: _plain(row._mapping["m_" + name]) for name in _COLUMNS}


def _plain(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _member_object(data):
    """A persistent Member from cached columns, with no query: relationships still load on first touch."""
    identity = identity_key(Member, data["id"])
    known = db.session.identity_map.get(identity)
    if known is not None:  # a session that outlives requests (a test's app context): refresh what a commit expired
        for name in list(sa_inspect(known).expired_attributes):
            if name in data:  # a trusted token's claims hold only some columns; the rest load on first touch
                set_committed_value(known, name, _typed(_COLUMNS[name], data[name]))
        return known
    member = Member(**{name: _typed(_COLUMNS[name], value) for name, value in data.items() if name in _COLUMNS})
    make_transient_to_detached(member)
    db.session.add(member)
    return member


def _typed(kind, value):
    if value is None or kind not in (date, datetime):
        return value
    return kind.fromisoformat(value)


def own_placement(member_id):
    """(branch_id, committee_id) of the request's own member as `authenticate` resolved them — claims members.authlog
    vouches for, or the session's entry or row — if `member_id` is that member; else None. Lets a write place the
    member's points without reading their row again."""
    if not has_request_context() or g.get("member_id") != member_id or g.get("member_data") is None:
        return None
    return g.member_data["branch_id"], g.member_data["committee_id"]


def current_member():
    """The member making this request (after `login_required`), built from the cached entry on first use."""
    if g.member is None:
        g.member = _member_object(g.member_data)
    return g.member


class Requester(NamedTuple):
    """The member making a request as `authenticate` resolved them: no ORM object (building and adding one is a
    twentieth of a hot write's CPU), nothing a commit expires or reads again."""

    id: int
    role: str
    branch_id: int | None
    committee_id: int | None
    active: bool


def requester():
    """The member making this request (after `login_required`), for a view whose services use only their id, role,
    branch, committee and whether they are active (the quiz's and the reading's writes); `current_member()` for
    anything more."""
    data = g.member_data
    return Requester(data["id"], data["role"], data["branch_id"], data["committee_id"], data["active"])


_PREFETCHED = "bs.prefetched"  # this request's (not the app context's: a test's may span requests)


def prefetched(entry_key, counters):
    """(body, seen) of an entry read with the session, as core.fresh.read gives them (body None if stale or missing);
    read now if it was not prefetched."""
    found = request.environ.get(_PREFETCHED, {}).get(entry_key) if has_request_context() else None
    if found is not None:
        return found
    (body,), seen = fresh.read([entry_key], counters)
    return body, seen


_CALLED = "bs.prefetched_calls"
NOT_PREFETCHED = object()


def _call_key(source, keys, args):
    return source, tuple(keys), tuple(str(a) for a in args)


def prefetched_call(source, keys, args):
    """The reply of a script that `authenticate` ran with the session, or NOT_PREFETCHED; taken once (a second ask
    in the same request goes to Redis)."""
    called = request.environ.get(_CALLED, {}) if has_request_context() else {}
    return called.pop(_call_key(source, keys, args), NOT_PREFETCHED)


def login_required(*roles, prefetch=None):
    """Require a valid session; with roles, also one of those roles (else 403). `prefetch`: see `authenticate`."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            role = authenticate(prefetch)
            if roles and role not in roles:
                raise Forbidden("该操作仅限" + "、".join(_ROLE_NAMES[r] for r in roles))
            return view(*args, **kwargs)

        return ratelimit.session_limited(wrapper)  # its writes are counted by `authenticate` (members.ratelimit)

    return decorate


_ROLE_NAMES = {"member": "党员", "secretary": "支部书记", "admin": "党委管理员"}


def revoke_session(session_id):
    """Revoke one session (logout); its cached entry is stale once this commits."""
    member_id = db.session.scalar(db.select(AuthSession.member_id).where(AuthSession.id == session_id))
    db.session.execute(db.update(AuthSession).where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))
    if member_id is not None:
        authlog.advance(member_id)
        fresh.bump_after_commit(member_gen(member_id))


def revoke_all_sessions(member_id):
    """Revoke every session of a member (deactivation)."""
    db.session.execute(db.update(AuthSession).where(AuthSession.member_id == member_id,
                                                    AuthSession.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))
    authlog.advance(member_id)
    fresh.bump_after_commit(member_gen(member_id))


@event.listens_for(Session, "before_flush")
def _members_changing(session, flush_context, instances):
    """Any change to a member row (role, branch, active, name...) makes their cached sessions stale on commit."""
    changed = [m.id for m in session.dirty if isinstance(m, Member) and session.is_modified(m)]
    changed += [m.id for m in session.deleted if isinstance(m, Member)]
    if changed:
        fresh.bump_after_commit(*(member_gen(i) for i in changed))
