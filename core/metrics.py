"""Prometheus metrics at /metrics: requests and latency by route and status, WeChat calls by errcode, and what the
rooms add (the outbox by status, the scheduler's last successful run per job).

Counters and histograms live in the process that counts. Under gunicorn every worker — and beside them the scheduler
and the senders, given the same PROMETHEUS_MULTIPROC_DIR — writes its samples to that folder, and /metrics adds up
all of them; without it (development, tests) /metrics serves this process's own. Figures read from the database
(the outbox) are computed at each scrape by collectors the rooms register. The shipped proxy config does not expose
/metrics: Prometheus scrapes the web process on its own address.
"""
import os

from flask import Response, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from core import requestlog
from core.extensions import limiter

REQUESTS = Counter("branch_study_http_requests_total", "HTTP requests by route, method and status",
                   ["route", "method", "status"])
LATENCY = Histogram("branch_study_http_request_duration_seconds", "HTTP request latency by route, method and status",
                    ["route", "method", "status"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
WECHAT_CALLS = Counter("branch_study_wechat_calls_total",
                       "Calls to the WeChat and WeCom APIs by path and errcode (unavailable: timeout, 5xx, -1)",
                       ["path", "errcode"])
SCHEDULER_LAST_SUCCESS = Gauge("branch_study_scheduler_last_success_timestamp_seconds",
                               "When each scheduler job last ran to its end (Unix time)", ["job"],
                               multiprocess_mode="max")


def add_collector(app, collector):
    """Register a collector whose collect() yields metric families read at scrape time (in an app context)."""
    app.extensions.setdefault("metrics_collectors", []).append(collector)


def _process_samples():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


class _Collectors:
    def __init__(self, collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def init_app(app):
    # After core.requestlog's init_app, whose clock times the request for both.
    @app.after_request
    def _count(response):
        labels = (requestlog.route("unmatched"), request.method, str(response.status_code))
        REQUESTS.labels(*labels).inc()
        seconds = requestlog.request_seconds()
        if seconds is not None:
            LATENCY.labels(*labels).observe(seconds)
        return response

    @app.get("/metrics")
    @limiter.exempt
    def metrics():
        """Prometheus text: this host's processes' samples and the rooms' figures from the database."""
        body = _process_samples() + generate_latest(_Collectors(app.extensions.get("metrics_collectors", [])))
        return Response(body, content_type=CONTENT_TYPE_LATEST)
