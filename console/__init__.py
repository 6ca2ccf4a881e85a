"""Console: the secretaries' and admins' web pages, server-rendered over the other rooms' services."""
# Each desk area's module adds its pages to the blueprint as it is imported; models register their tables.
from console import accounts, branches, cli, content, exchanges, imports, members, models, overview, quizzes  # noqa: F401
from console.desk import bp, csrf


def init_app(app, api):
    app.config["SESSION_COOKIE_NAME"] = "bs_console"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config.get("APP_ENV") == "production"
    csrf.init_app(app)
    app.register_blueprint(bp)
    cli.init_app(app)
