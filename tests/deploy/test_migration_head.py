"""One head: a plain `flask db upgrade` migrates an empty database and one migrated by the previous release."""
import os

from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.deploy.conftest import ROOT, flask

# The heads of main at 94f0144, the release before the rooms' branches were merged: databases in the field sit here.
PREVIOUS_RELEASE_HEADS = ["console_0001", "learning_0003", "notifications_0001", "quizzes_0002", "quotas_0003"]


def _script():
    config = Config()
    config.set_main_option("script_location", os.path.join(ROOT, "migrations"))
    return ScriptDirectory.from_config(config)


def test_the_migrations_have_exactly_one_head():
    heads = _script().get_heads()
    # Rooms add migrations on their own branches; whoever merges them adds a merge revision so this stays one.
    assert len(heads) == 1, f"several heads {heads}: add a merge revision (flask db merge heads)"


def test_plain_upgrade_builds_an_empty_database(fresh_database, cli_env):
    env = {**cli_env, "DATABASE_URL": fresh_database()}
    flask(env, "db", "upgrade")
    current = flask(env, "db", "current").stdout
    assert _script().get_current_head() in current


def test_plain_upgrade_moves_a_database_of_the_previous_release(fresh_database, cli_env):
    env = {**cli_env, "DATABASE_URL": fresh_database()}
    for head in PREVIOUS_RELEASE_HEADS:  # the schema the previous release's `flask db upgrade heads` built
        flask(env, "db", "upgrade", head)
    before = flask(env, "db", "current").stdout
    assert all(head in before for head in PREVIOUS_RELEASE_HEADS), before
    flask(env, "db", "upgrade")
    after = flask(env, "db", "current").stdout.split()
    assert after[:1] == [_script().get_current_head()] and "(head)" in after
