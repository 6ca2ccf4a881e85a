"""Liveness and readiness probes."""
from flask import jsonify
from sqlalchemy import text

from core.cache import get_redis
from core.extensions import db, limiter


def init_app(app):
    @app.get("/healthz")
    @limiter.exempt
    def healthz():
        """Say the process is alive."""
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    @limiter.exempt
    def readyz():
        """Say whether the database and Redis answer."""
        checks = {"database": _check(lambda: db.session.execute(text("SELECT 1"))),
                  "redis": _check(lambda: get_redis().ping())}
        if checks["database"] != "ok":
            db.session.rollback()
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ok" if ready else "unavailable", "checks": checks}
        if not ready:
            body.update({"code": "service_unavailable", "message": "依赖服务不可用"})
        return jsonify(body), 200 if ready else 503


def _check(probe):
    try:
        probe()
        return "ok"
    except Exception as exc:  # a probe reports, it never raises
        return exc.__class__.__name__
