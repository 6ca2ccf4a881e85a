"""The audit trail: who did what to what, when. Append-only: rows are inserted, never updated or deleted."""
from flask import has_request_context, request
from sqlalchemy import event

from core import clock
from core.db import BigId, UTCDateTime
from core.extensions import db
from core.requestlog import request_id


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    id = db.Column(BigId, primary_key=True)
    at = db.Column(UTCDateTime, nullable=False, default=clock.now, index=True)
    actor_id = db.Column(db.Integer, nullable=True, index=True)
    committee_id = db.Column(db.Integer, nullable=True, index=True)
    action = db.Column(db.String(64), nullable=False)
    target_type = db.Column(db.String(32), nullable=True)
    target_id = db.Column(db.String(64), nullable=True)
    details = db.Column(db.JSON, nullable=False, default=dict)


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(*_):
    raise RuntimeError("audit entries are append-only")


def record(actor, action, target_type=None, target_id=None, **details):
    """Add an audit entry to the current transaction (committed with the action it records)."""
    if has_request_context():

        # From where, and which request: the client's real address (behind PROXY_HOPS proxies) and the log lines' id.
        details = {**details, "ip": request.remote_addr, "request_id": request_id()}
    db.session.add(AuditEntry(
        at=clock.now(), actor_id=getattr(actor, "id", None), committee_id=getattr(actor, "committee_id", None),
        action=action, target_type=target_type, target_id=None if target_id is None else str(target_id),
        details=details,
    ))
