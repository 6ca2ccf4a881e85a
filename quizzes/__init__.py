"""每周一测: the question bank, weekly quizzes, attempts, grading and item analysis."""
import os


def init_app(app, api):
    from quizzes import models  # noqa: F401  (models register their tables)
    from quizzes.views import bp

    # Seconds a phone may be late past an attempt's deadline and still have its last answers saved.
    app.config.setdefault("QUIZ_GRACE_SECONDS", int(os.environ.get("QUIZ_GRACE_SECONDS") or 60))
    app.config.setdefault("QUIZ_AVOID_WEEKS", int(os.environ.get("QUIZ_AVOID_WEEKS") or 4))
    api.register_blueprint(bp)
