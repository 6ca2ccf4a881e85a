"""Auth versions: what lets a signed token's claims be trusted without asking the database.

A phone's token (members.auth) carries its member's role, branch and committee and the member's `auth_version` as
read with those columns when it was issued. Whatever can make such claims untrue — a session revoked, the member
deactivated, their role, branch or committee changed — advances `members.auth_version` in the same transaction
(`advance`, one UPDATE that also takes the row's lock, so a member's versions commit in order). Redis mirrors each
member's version: written once the change commits (`mirror`), and again by the relay (`relay`, every few seconds in
the scheduler), which re-reads the versions changed in the last RESCAN and keeps the "mirrored" marker alive for
MARKER_SECONDS. With no marker (Redis emptied, the relay stopped) it first rebuilds the whole mirror from the table.

A token is trusted without SQL only while the marker lives and its member's mirrored version is not newer than the
token's (`trusted`); else the session is read as before, from its cached entry or the tables, which refuse it. So a
change is refused on the next request once its mirror write lands, before the client has the response; a mirror
write lost to a Redis hiccup is repaired by the relay's next pass.

Members are deactivated, never deleted (a deleted row would leave its version mirrored as it was); the mirror's keys
carry no TTL, so Redis must not evict them (`maxmemory-policy noeviction` or a volatile-* policy, docs/operations.md).
"""
import logging
import secrets
import threading
from datetime import timedelta

from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session

from core import clock
from core.cache import best_effort, get_redis, key, script
from core.db import after_commit
from core.extensions import db
from members.models import Member

log = logging.getLogger(__name__)

CLAIMED = ("role", "branch_id", "committee_id", "active")  # the member's columns a token claims (active: true)
RESCAN = timedelta(minutes=10)  # how far back the relay re-reads: longer than any transaction that advances
MARKER_SECONDS = 90  # the marker outlives a few missed relay passes, not a stopped relay
RELAY_SECONDS = 5
CHUNK = 1000

MARKER = key("auth", "mirrored")

# KEYS: member version keys; ARGV: their versions. A version only ever moves up (mirror writes may arrive late).
_RAISE = """
for i = 1, #KEYS do
  local v = tonumber(ARGV[i])
  if tonumber(redis.call('GET', KEYS[i]) or '0') < v then redis.call('SET', KEYS[i], v) end
end
return #KEYS
"""


def version_key(member_id):
    return key("auth", "v", member_id)


def trusted(claims, seen):
    """Whether a token's claims hold without asking the database: `seen` holds the values of MARKER and of its
    member's version key, read in the request's one round trip (core.fresh.read; None when Redis failed)."""
    if seen is None or not claims.get("e") or claims.get("exp", 0) <= clock.now().timestamp():
        return False
    return seen.get(MARKER) == claims["e"] and int(seen.get(version_key(claims["mid"]), "0")) <= claims["v"]


def current_epoch():
    """The mirror's epoch, for a token being issued (None if there is no complete mirror now: such a token is always
    read from the tables)."""
    with best_effort("auth mirror unavailable; this token will be read from the tables"):
        return get_redis().get(MARKER)
    return None


def advance(*member_ids, session=None):
    """Advance the members' auth versions in the current transaction (no autoflush: also called from a flush hook,
    which passes its session); their mirrors are raised once it commits."""
    if not member_ids:
        return
    rows = (session or db.session).connection().execute(
        update(Member).where(Member.id.in_(member_ids))
        .values(auth_version=Member.auth_version + 1, auth_changed_at=clock.now(), updated_at=Member.updated_at)
        .returning(Member.id, Member.auth_version)).all()
    after_commit(mirror, {row.id: row.auth_version for row in rows})


_unmirrored = {}  # versions whose mirror write failed in this process: written before its next token check


def mirror(versions):
    """Raise the mirrored versions (after commit). A failure is retried before this process's next token check,
    and repaired for every process by the relay's next pass."""
    with best_effort("auth mirror unavailable; retried before the next check, the relay repairs it") as cache:
        _raise(versions)
    if cache.failed:
        for member_id, version in versions.items():
            _unmirrored[member_id] = max(version, _unmirrored.get(member_id, 0))


def retry_unmirrored():
    if _unmirrored:
        pending = dict(_unmirrored)
        _unmirrored.clear()
        mirror(pending)  # kept again if it fails again


def _raise(versions):
    items = list(versions.items())
    for start in range(0, len(items), CHUNK):
        chunk = items[start:start + CHUNK]
        script(_RAISE)(keys=[version_key(m) for m, _ in chunk], args=[v for _, v in chunk])


_RELAY_DOWN = "auth relay: Redis unavailable; tokens are read from the tables meanwhile"


def relay():
    """One pass. With the marker alive: re-read the versions changed in the last RESCAN, mirror them, and renew the
    marker only if it is still the same (a Redis restart meanwhile leaves it gone). With no marker: rebuild the whole
    mirror, then set the marker to a new epoch, so no token issued before is trusted again (whatever happened while
    there was none: a restore, an older release that kept no versions). Returns how many members it mirrored; None
    if Redis failed (the marker then lapses)."""
    with best_effort(_RELAY_DOWN) as cache:
        epoch = get_redis().get(MARKER)
    if cache.failed:
        return None
    query = db.select(Member.id, Member.auth_version)
    query = query.where(Member.auth_changed_at >= clock.now() - RESCAN) if epoch else \
        query.where(Member.auth_version > 0)
    versions = dict(db.session.execute(query).all())
    db.session.rollback()  # hold no snapshot between passes
    with best_effort(_RELAY_DOWN) as cache:
        _raise(versions)
        if epoch:
            renewed = script(_RENEW)(keys=[MARKER], args=[epoch, MARKER_SECONDS])
        else:
            renewed = _evictions_safe() and get_redis().set(MARKER, secrets.token_hex(8), ex=MARKER_SECONDS, nx=True)
    if cache.failed:
        return None
    if not epoch and renewed:
        log.info("auth mirror rebuilt: %d members with a changed version; a new epoch begins", len(versions))
    return len(versions)


# KEYS[1]: the marker; ARGV: the epoch the pass began with, the TTL. Renewed only if it is still that epoch.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""


def _evictions_safe():
    """The mirror's keys must never be evicted (a missing version reads as 0): no marker under an allkeys-* policy.
    A server that hides CONFIG is taken at its word (docs/operations.md asks for noeviction)."""
    try:
        policy = get_redis().config_get("maxmemory-policy").get("maxmemory-policy", "noeviction")
    except Exception:  # CONFIG renamed or refused
        return True
    if policy.startswith("allkeys"):
        log.error("auth mirror not marked: Redis maxmemory-policy is %s, which may evict its keys", policy)
        return False
    return True


def run_relay(app, stop, every=RELAY_SECONDS):
    """The relay's loop (a thread of `flask scheduler`), until `stop` is set."""
    while True:
        with app.app_context():
            try:
                relay()
            except Exception:  # a database hiccup must not end the loop; the marker just lapses meanwhile
                log.exception("auth relay pass failed")
            finally:
                db.session.remove()
        if stop.wait(every):
            return


def start_relay(app, stop):
    thread = threading.Thread(target=run_relay, args=(app, stop), name="auth-relay", daemon=True)
    thread.start()
    return thread


@event.listens_for(Session, "before_flush")
def _claims_changing(session, flush_context, instances):
    """A member whose role, branch, committee or active flag is about to change: their tokens' claims are untrue
    once this commits."""
    changed = [m.id for m in session.dirty if isinstance(m, Member) and m.id is not None and _claims_changed(m)]
    if changed:
        advance(*changed, session=session)


def _claims_changed(member):
    attrs = inspect(member).attrs  # the relationships too: assigning one sets its column only during the flush
    return any(attrs[name].history.has_changes() for name in (*CLAIMED, "branch", "committee"))
