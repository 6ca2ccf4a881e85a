"""1+4+1: yearly quotas — exchanges given and attended, books read — tallied and posted (公示) to the branch."""
import os


def init_app(app, api):
    from quotas import models  # noqa: F401  (models register their tables)
    from quotas.views import bp

    _settings(app)
    api.register_blueprint(bp)


def _settings(app):
    # Read when the factory runs, like every setting; tests may override them through create_app(overrides).
    env = os.environ.get
    app.config.setdefault("QUOTA_DEFAULTS", {"talks": int(env("QUOTA_TALKS", "1")),
                                             "attends": int(env("QUOTA_ATTENDS", "4")),
                                             "books": int(env("QUOTA_BOOKS", "1"))})
    app.config.setdefault("QUOTA_REFLECTION_MIN_CHARS", int(env("QUOTA_REFLECTION_MIN_CHARS", "100")))
    app.config.setdefault("QUOTA_CHECKIN_MARGIN_MINUTES", int(env("QUOTA_CHECKIN_MARGIN_MINUTES", "15")))
    app.config.setdefault("QUOTA_CHECKIN_MAX_WRONG", int(env("QUOTA_CHECKIN_MAX_WRONG", "5")))
    app.config.setdefault("QUOTA_CHECKIN_WRONG_WINDOW_SECONDS", int(env("QUOTA_CHECKIN_WRONG_WINDOW_SECONDS", "600")))
