"""Console: the secretaries' and admins' web pages, server-rendered over the other rooms' services."""
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def init_app(app, api):
    from console import cli, models  # noqa: F401  (models register their tables)
    from console import accounts, exchanges, members, quizzes  # noqa: F401  (their pages join the blueprint)
    from console.views import bp

    # The JSON API under /api/v1 authenticates with bearer tokens, which a browser never sends by itself, so it
    # needs no CSRF token; only the console's cookie-authenticated forms are checked (in the blueprint).
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    app.config.setdefault("CONSOLE_LOGIN_RATE", "10 per minute")
    app.config.setdefault("CONSOLE_LOCKOUT_FAILURES", 5)
    app.config.setdefault("CONSOLE_LOCKOUT_MINUTES", 15)
    app.config.setdefault("CONSOLE_SESSION_HOURS", 8)
    app.config.setdefault("CONSOLE_RANKING_PER_PAGE", 50)
    app.config.setdefault("CONSOLE_SERIES_TTL", 300)  # seconds the finished weeks of the 12-week charts are cached
    app.config["SESSION_COOKIE_NAME"] = "bs_console"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config.get("APP_ENV") == "production"
    csrf.init_app(app)
    app.register_blueprint(bp)
    cli.init_app(app)
