"""The outbox's lease: senders claim due rows under a lease token, and write each outcome only while they hold it.

Claiming is one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING` per claimable status on
PostgreSQL, so several senders share the work; on SQLite the write lock (BEGIN IMMEDIATE) serialises claims and one
sender is enough. A claimed row is `sending` with its lease end in next_attempt_at: if the sender dies before calling
WeChat, the row is claimable again once the lease runs out. Just before the call the row is committed as `calling`;
if the sender dies during the call, WeChat may have delivered, so when that lease runs out the row becomes
`unconfirmed` — still in the member's inbox, shown to admins, never sent a second time.
"""
import logging
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from core import clock
from core.extensions import db
from notifications.models import CALLING, CLAIMABLE, DEAD, PENDING, SENDING, UNCONFIRMED, Notification
from notifications.rules import backoff_seconds

log = logging.getLogger(__name__)

UNCONFIRMED_NOTE = "发送过程中断，微信是否送达未知；不再重发，通知保留在站内信中"


def expire_calls(now=None):
    """Rows whose sender died during the call: `unconfirmed`, never `pending` again; return how many."""
    result = db.session.execute(update(Notification).where(
        Notification.status == CALLING, Notification.next_attempt_at <= (now or clock.now()))
        .values(status=UNCONFIRMED, last_error=UNCONFIRMED_NOTE))
    if result.rowcount:
        log.warning("%s notifications unconfirmed: their sender died during the WeChat call", result.rowcount)
    return result.rowcount


def claim(limit=None, lease_seconds=None):
    """Claim up to `limit` due rows for this sender in one statement; return (lease token, [ids])."""
    cfg = current_app.config
    limit = limit or cfg["OUTBOX_BATCH"]
    now = clock.now()
    expire_calls(now)
    token = uuid.uuid4().hex
    lease_end = now + timedelta(seconds=lease_seconds or cfg["OUTBOX_LEASE_SECONDS"])
    ids = []
    # One status at a time, oldest due first: each is one range of ix_notifications_status_due, read in order and
    # cut at `limit`. "status IN (...) ORDER BY due" sorted every due row on each claim instead (280 ms a claim with
    # 300,000 queued: the senders' PostgreSQL time in #19's push).
    for status in CLAIMABLE:
        if len(ids) < limit:
            ids += _claim_rows(status, limit - len(ids), now, token, lease_end)
    db.session.commit()
    return token, sorted(ids)


def due_rows(status, limit, now):
    """The first `limit` rows of a status that are due, oldest first, skipping those another sender holds."""
    due = (select(Notification.id)
           .where(Notification.status == status, Notification.next_attempt_at <= now)
           .order_by(Notification.next_attempt_at).limit(limit))
    return due.with_for_update(skip_locked=True) if db.engine.dialect.name == "postgresql" else due


def _claim_rows(status, limit, now, token, lease_end):
    return db.session.scalars(
        update(Notification).where(Notification.id.in_(due_rows(status, limit, now).scalar_subquery()))
        .values(status=SENDING, lease_token=token, attempts=Notification.attempts + 1, next_attempt_at=lease_end)
        .returning(Notification.id)
        .execution_options(synchronize_session=False)).all()


# ---- outcomes, each written only while the lease token is still ours --------------------------------------

def finish(row_id, token, status, error, commit=True, **values):
    write(row_id, token, commit=commit, status=status, last_error=cut(error), lease_token=None, **values)
    return "dead" if status == DEAD else status


def finish_many(row_ids, token, status, error, commit=True, **values):
    """One outcome for many rows of a batch in one statement."""
    if row_ids:
        db.session.execute(update(Notification).where(Notification.id.in_(row_ids), Notification.lease_token == token)
                           .values(status=status, last_error=cut(error), lease_token=None, **values)
                           .execution_options(synchronize_session=False))
    if commit:
        db.session.commit()


def defer(row_id, token, until, error, commit=True):
    # A deferral (quiet hours, a robot's rate limit) is not a failed attempt.
    write(row_id, token, commit=commit, status=PENDING, next_attempt_at=until, attempts=Notification.attempts - 1,
           lease_token=None, last_error=cut(error))
    return "deferred"


def retry(row_id, token, error, min_delay=0):
    attempts = db.session.scalar(select(Notification.attempts).where(Notification.id == row_id))
    cfg = current_app.config
    if attempts >= cfg["OUTBOX_MAX_ATTEMPTS"]:
        log.warning("notification dead after %s attempts id=%s error=%s", attempts, row_id, error)
        return finish(row_id, token, DEAD, error)
    delay = max(min_delay, backoff_seconds(attempts, cfg["OUTBOX_BACKOFF_SECONDS"]))
    write(row_id, token, status=PENDING, next_attempt_at=clock.now() + timedelta(seconds=delay),
           lease_token=None, last_error=cut(error))
    return "retry"


def write(row_id, token, commit=True, **values):
    """Write an outcome while the lease token is still ours; return whether it was."""
    done = db.session.execute(update(Notification).where(Notification.id == row_id, Notification.lease_token == token)
                              .values(**values).execution_options(synchronize_session=False)).rowcount
    if commit:
        db.session.commit()
    return done == 1


def cut(text):
    return None if text is None else str(text)[:255]
