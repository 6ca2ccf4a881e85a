"""Logging: one line per request (member, address, method, route, status, duration), and the request id.

Every log line carries the id of the request it belongs to ("-" outside one): the X-Request-ID a trusted proxy set
(only when PROXY_HOPS says there is one; a client's own header is not trusted), else one made here. The response
and every error body carry it too, so a member's screenshot of an error finds its log lines. LOG_FORMAT=json
writes each line as one JSON object.
"""
import json
import logging
import re
import time
import uuid

from flask import current_app, g, has_request_context, request

log = logging.getLogger("branch_study.request")

_ENVIRON_KEY = "branch_study.request_id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"


def request_id():
    """The current request's id: the trusted proxy's X-Request-ID, else a new one (made once per request)."""
    environ = request.environ  # the request's own, where `g` may outlive one request (an app context kept open)
    if _ENVIRON_KEY not in environ:
        incoming = request.headers.get("X-Request-ID", "") if current_app.config.get("PROXY_HOPS") else ""
        environ[_ENVIRON_KEY] = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
    return environ[_ENVIRON_KEY]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request_id, message (and the traceback, if any)."""

    def format(self, record):
        entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "request_id": getattr(record, "request_id", "-"), "message": record.getMessage()}
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _install_record_factory():
    # A record factory, not a handler filter, so the id reaches every handler (gunicorn's, pytest's, ours).
    base = logging.getLogRecordFactory()
    if getattr(base, "adds_request_id", False):
        return

    def factory(*args, **kwargs):
        record = base(*args, **kwargs)
        record.request_id = request_id() if has_request_context() else "-"
        return record

    factory.adds_request_id = True
    logging.setLogRecordFactory(factory)


def init_app(app):
    _install_record_factory()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if app.config.get("LOG_FORMAT") == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"), handlers=[handler])
    # APScheduler logs every run of every job at INFO (the leader lock renews every few seconds): keep warnings.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app.jinja_env.globals["request_id"] = request_id  # the console's error page shows it

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        seconds = request_seconds()
        response.headers["X-Request-ID"] = request_id()
        log.info("member=%s ip=%s method=%s route=%s status=%s duration_ms=%.1f",
                 g.get("member_id", "-"), request.remote_addr, request.method, route("-"), response.status_code,
                 seconds * 1000 if seconds is not None else 0.0)
        return response


def request_seconds():
    """Seconds since the current request began, by the clock init_app starts (None if it did not start for it).

    The request's line here and the latency in core.metrics read the same clock."""
    started = g.get("request_started")
    return time.perf_counter() - started if started is not None else None


def route(unmatched):
    """The URL rule the request matched, else `unmatched`: the rule, not the path, since a path holds ids and an
    unmatched path is whatever a client typed."""
    return request.url_rule.rule if request.url_rule else unmatched
