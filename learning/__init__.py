"""Learning (每日学习): study material, reading records, the points ledger and leaderboards."""


def init_app(app, api):
    from learning import leaderboards, models  # noqa: F401  (tables and the after-commit board hook)

    try:
        from learning.views import bp
    except ModuleNotFoundError as exc:  # views arrive after the ledger; the ledger must work without them
        if exc.name != "learning.views":
            raise
        return
    api.register_blueprint(bp)
