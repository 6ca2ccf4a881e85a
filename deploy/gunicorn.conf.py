"""gunicorn for Branch Study: `gunicorn -c deploy/gunicorn.conf.py wsgi:app` (the web unit runs exactly this).

Sync workers behind nginx, which buffers slow clients' bodies and responses, so a worker is never held by a phone
on a bad network. SIGTERM (systemd's stop) lets each worker finish the request in hand for up to graceful_timeout;
SIGHUP reloads the code with new workers. The access log uses the request log's key=value form (or JSON with
LOG_FORMAT=json) and carries the request id nginx made, the same id the app's own lines and error bodies carry.
"""
import multiprocessing
import os

from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
# A request silent this long is killed (nginx's proxy_read_timeout is longer, so the app's 500 reaches the client).
timeout = 60
# On SIGTERM, each worker finishes its request in hand for up to this long (the unit's TimeoutStopSec is longer).
graceful_timeout = 30
# Keep nginx's upstream connections open between requests (nginx keepalive).
keepalive = 75
# The app's own settings are read when each worker builds the app: a bad setting shows in the worker's start.
preload_app = False

accesslog = "-"
# One line per request as gunicorn saw it (also those that never reached the app: a killed worker, say). Only values
# that cannot break a line are used: the request id (nginx's, or the app's), the method (gunicorn admits only token
# characters), numbers. The path and the address are on the app's own line with the same request_id; the raw
# X-Forwarded-For is not logged, since its left part is whatever the client wrote.
if os.environ.get("LOG_FORMAT") == "json":
    access_log_format = ('{"logger": "gunicorn.access", "request_id": "%({x-request-id}o)s", "method": "%(m)s", '
                         '"status": %(s)s, "duration_ms": %(M)s, "bytes": "%(B)s"}')
else:
    access_log_format = ("gunicorn.access request_id=%({x-request-id}o)s method=%(m)s status=%(s)s "
                         "duration_ms=%(M)s bytes=%(B)s")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def on_starting(server):
    """Make the metrics folder the workers share (the unit's RuntimeDirectory, or the operator's choice)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    """A worker that ended takes its live gauges with it; its counters stay in the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
