"""每周一测: the question bank, weekly quizzes, attempts, grading and item analysis."""
from quizzes import models  # noqa: F401  (models register their tables)
from quizzes.views import bp


def init_app(app, api):
    api.register_blueprint(bp)
