"""Notifications: the outbox and inbox, WeChat subscribe messages, WeCom robots, and the scheduler."""


def init_app(app, api):
    from core import metrics
    from notifications import cli, models  # noqa: F401  (models register their tables)
    from notifications.metrics import OutboxCollector
    from notifications.views import bp

    api.register_blueprint(bp)
    cli.init_app(app)
    metrics.add_collector(app, OutboxCollector())
