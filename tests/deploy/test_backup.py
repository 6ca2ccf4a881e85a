"""The restore drill, run: pg_dump of a database with rows → restore into a fresh database → every table's row
count equal to the backup's (PostgreSQL pass only: SQLite has no pg_dump)."""
import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from core.extensions import db
from tests.deploy.conftest import DEPLOY, ROOT, need, on_postgres
from tests.notifications.helpers import queue

pytestmark = pytest.mark.skipif(not on_postgres(), reason="backups are of PostgreSQL (the suite's second pass)")


def _tool(app, env, *args):
    return subprocess.run([sys.executable, os.path.join(DEPLOY, "pg_backup.py"), *args], cwd=ROOT,
                          env={**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], **env},
                          capture_output=True, text=True, timeout=300)


def _databases(app):
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as conn:
        names = set(conn.exec_driver_sql("SELECT datname FROM pg_database").scalars())
    engine.dispose()
    return names


def test_a_backup_restores_into_a_fresh_database_with_every_row(app, org, tmp_path):
    need("pg_dump"), need("pg_restore")
    queue(org.member_a)
    before = _databases(app)

    made = _tool(app, {}, "backup", "--dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    [dump] = [p for p in tmp_path.iterdir() if p.name.endswith(".dump")]
    counts = json.loads((tmp_path / (dump.name + ".counts.json")).read_text())
    live = {t: db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(t))) for t in counts}
    assert counts == live and counts["members"] > 0 and counts["notifications"] == 1 and counts["alembic_version"] == 1

    drilled = _tool(app, {}, "drill", str(dump))
    assert drilled.returncode == 0, drilled.stdout + drilled.stderr
    assert "restore drill: row counts equal" in drilled.stdout
    # The drill's database is gone again (other databases may come and go: the server is shared).
    assert not [name for name in _databases(app) - before if name.startswith("branch_study_drill_")]


def test_the_drill_fails_when_a_table_came_back_short(app, org, tmp_path):
    need("pg_dump"), need("pg_restore")
    assert _tool(app, {}, "backup", "--dir", str(tmp_path)).returncode == 0
    [dump] = [p for p in tmp_path.iterdir() if p.name.endswith(".dump")]
    counts_file = tmp_path / (dump.name + ".counts.json")
    counts = json.loads(counts_file.read_text())
    counts["members"] += 1  # as if a row had been lost between the backup and its restore
    counts_file.write_text(json.dumps(counts))
    drilled = _tool(app, {}, "drill", str(dump))
    assert drilled.returncode == 1 and "restore drill FAILED" in drilled.stdout and "members" in drilled.stdout
