"""Console: the secretaries' and admins' web pages, server-rendered over the other rooms' services."""
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def init_app(app, api):
    from console import accounts, cli, exchanges, members, models, quizzes  # noqa: F401  (models register their tables)  # noqa: F401  (their pages join the blueprint)
    from console.views import bp

    app.config["SESSION_COOKIE_NAME"] = "bs_console"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config.get("APP_ENV") == "production"
    csrf.init_app(app)
    app.register_blueprint(bp)
    cli.init_app(app)
