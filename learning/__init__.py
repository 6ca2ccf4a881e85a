"""Learning (每日学习): study material, reading records, the points ledger and leaderboards."""


def init_app(app, api):
    from learning import leaderboards, models, rollups  # noqa: F401  (tables, the board and rollup hooks)

    try:
        from learning.views import bp
    except ModuleNotFoundError as exc:  # views arrive after the ledger; the ledger must work without them
        if exc.name != "learning.views":
            raise
        return
    api.register_blueprint(bp)
