"""Helpers for the notifications tests: queue a notification, give consents, run the sender."""
import uuid

from core.extensions import db
from notifications import content, services
from notifications.delivery import run_sender
from notifications.models import Notification


def queue(member, kind="quiz_open", period="p1", title="测验已开放", data=None):
    """Queue one notification for a member, as a job would, and commit."""
    message = {"title": title, "body": title + "，请查看。", "page": "pages/index/index",
               "data": data or {"thing1": title, "thing3": "请在截止前完成作答"}}
    n = services.notify_member(member, kind, period, message)
    db.session.commit()
    return n


def consent(client, headers, template_id, result="accept", request_id=None):
    """Report one wx.requestSubscribeMessage result from the phone."""
    return client.post("/api/v1/me/subscriptions", headers=headers, json={
        "request_id": request_id or uuid.uuid4().hex, "results": [{"template_id": template_id, "result": result}]})


def send_all():
    """Run a sender until nothing is due; return its totals."""
    return run_sender(once=True)


def rows(**filters):
    """Outbox rows, refreshed from the database."""
    db.session.expire_all()
    return db.session.scalars(db.select(Notification).filter_by(**filters).order_by(Notification.id)).all()


__all__ = ["queue", "consent", "send_all", "rows", "content"]
