"""One log line per request: member, method, route, status, duration."""
import logging
import time

from flask import g, request

log = logging.getLogger("branch_study.request")


def init_app(app):
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # APScheduler logs every run of every job at INFO (the leader lock renews every few seconds): keep warnings.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        rule = request.url_rule.rule if request.url_rule else "-"
        log.info("member=%s method=%s route=%s status=%s duration_ms=%.1f",
                 g.get("member_id", "-"), request.method, rule, response.status_code, duration_ms)
        return response
