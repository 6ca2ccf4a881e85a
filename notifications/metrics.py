"""The outbox for Prometheus: rows by status, read at each scrape (dead letters are status "dead")."""
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from core.extensions import db
from notifications.models import CALLING, DEAD, INBOX_ONLY, PENDING, SENDING, SENT, SKIPPED, UNCONFIRMED, Notification

STATUSES = (PENDING, SENDING, CALLING, SENT, INBOX_ONLY, SKIPPED, DEAD, UNCONFIRMED)


class OutboxCollector:
    """branch_study_outbox_rows{status}: every status, zeros included, so an alert's series always exists."""

    def collect(self):
        counts = dict(db.session.execute(
            select(Notification.status, func.count()).group_by(Notification.status)).all())
        family = GaugeMetricFamily("branch_study_outbox_rows", "Outbox rows by status (dead: given up)",
                                   labels=["status"])
        for status in STATUSES:
            family.add_metric([status], counts.get(status, 0))
        yield family
