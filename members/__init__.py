"""Members: the organisation tree, its people, and how they log in."""
from members import cli, models  # noqa: F401  (models register their tables)
from members.views import bp


def init_app(app, api):
    api.register_blueprint(bp)
    cli.init_app(app)
