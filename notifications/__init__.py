"""Notifications: the outbox and inbox, WeChat subscribe messages, WeCom robots, and the scheduler."""
from core.metrics import add_collector
from notifications import cli, models  # noqa: F401  (models register their tables)
from notifications.metrics import OutboxCollector
from notifications.views import bp


def init_app(app, api):
    api.register_blueprint(bp)
    cli.init_app(app)
    add_collector(app, OutboxCollector())
