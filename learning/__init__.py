"""Learning (每日学习): study material, reading records, the points ledger and leaderboards."""


def init_app(app, api):
    from learning import leaderboards, models, rollups  # noqa: F401  (tables, the board and rollup hooks)
    from learning.views import bp

    api.register_blueprint(bp)
