"""Learning (每日学习): study material, reading records, the points ledger and leaderboards."""
from learning import leaderboards, models, rollups  # noqa: F401  (tables, the board and rollup hooks)
from learning.views import bp


def init_app(app, api):
    api.register_blueprint(bp)
