"""The app factory: nothing but configuration and a chain of init_app calls."""
import importlib
import os

from flask import Flask, request, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import config
from core import audit, cache, cli, errors, fresh, health, metrics, pool, requestlog, sqlite  # noqa: F401
from core.db import IdConverter
from core.extensions import db, limiter, migrate
from core.jsonprovider import OrjsonProvider

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The rooms, in dependency order: a later one may use an earlier one's services, never the reverse.
DOMAINS = ["members", "learning", "quizzes", "quotas", "notifications", "console"]


def create_app(overrides=None):
    """Create the Branch Study app from the environment (and explicit overrides, for tests)."""
    app = Flask(__name__, instance_path=os.path.join(ROOT, "instance"))
    app.json = OrjsonProvider(app)
    app.config.update(config.load(overrides))
    app.config.update(_api_settings())
    app.url_map.converters["int"] = IdConverter  # an id past BIGINT is a 404, not a driver overflow

    db.init_app(app)
    sqlite.init_app(app)
    pool.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"))
    cache.init_app(app)
    fresh.init_app(app)
    _init_limiter(app)
    api = Api(spec_kwargs={"components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"}}}, "extra_plugins": [errors.documented_errors_plugin()]})
    api.ERROR_SCHEMA = errors.ErrorSchema  # before init_app, which documents the error responses with it
    api.init_app(app)
    errors.register(app)
    _serve_docs_assets(app)
    _drain_unread_bodies(app)
    requestlog.init_app(app)
    metrics.init_app(app)
    health.init_app(app)
    cli.init_app(app)
    for name in DOMAINS:
        module = importlib.import_module(name)
        if hasattr(module, "init_app"):
            module.init_app(app, api)
    app.extensions["api"] = api
    trust_proxies(app)
    return app


def trust_proxies(app):
    """Behind PROXY_HOPS proxies, take the client's address and scheme from what the nearest of them appended."""
    hops = app.config["PROXY_HOPS"]
    if hops:
        # What a client wrote into X-Forwarded-For itself stays left of the proxies' entries and is ignored;
        # without a proxy (0) the header is not read at all.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _api_settings():
    return {
        "API_TITLE": "支部学习 Branch Study API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs-assets/",
    }


def _serve_docs_assets(app):
    # The interactive API page works on an intranet: Swagger UI's files come from a pinned package, not a CDN.

    @app.get("/api/v1/docs-assets/<path:filename>")
    def docs_assets(filename):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)


def _drain_unread_bodies(app):
    """Read the rest of a body the app answered without reading (a 401 or 403 before an upload is parsed, say).

    A sync gunicorn worker closes the connection after each response; closing it with body bytes still unread
    resets it, and nginx, still passing the body on, answers 502 instead of the app's response."""

    @app.teardown_request
    def drain(_error):
        if request.content_length or "chunked" in request.headers.get("Transfer-Encoding", ""):
            try:
                request.stream.exhaust()  # nothing left to read for a body the view read
            except (HTTPException, OSError):  # over the size limit, or the client went away: nothing to save
                pass


def _init_limiter(app):
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True  # a Redis outage must not take every endpoint down
    app.config["RATELIMIT_HEADERS_ENABLED"] = False  # see core/extensions.py
    app.config["RATELIMIT_KEY_PREFIX"] = "bs-rl"
    # The app's own pool: the limiter gets the same short timeouts as every other Redis call (core/cache.py).
    app.config["RATELIMIT_STORAGE_URI"] = "redis://"
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {"connection_pool": app.extensions["redis"].connection_pool}
    limiter.init_app(app)
