"""1+4+1: yearly quotas — exchanges given and attended, books read — tallied and posted (公示) to the branch."""
from quotas import models  # noqa: F401  (models register their tables)
from quotas.views import bp


def init_app(app, api):
    api.register_blueprint(bp)
