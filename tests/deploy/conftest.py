"""Fixtures for the deployment tests: the shipped configs run for real (nginx, gunicorn, systemd, pg_dump).

A tool the machine lacks skips its test on a developer's machine, but fails it in CI (CI=true), where .ci/run
installs every one of them: a green CI never hides a test that did not run.
"""
import os
import shutil
import socket
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, "deploy")


def need(tool):
    """The path of a program the test needs: skip without it, unless in CI, where its absence is a failure."""
    path = shutil.which(tool) or next((p for p in (f"/usr/sbin/{tool}", f"/usr/bin/{tool}") if os.path.exists(p)),
                                      None)
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{tool} is missing; .ci/run installs it")
    pytest.skip(f"{tool} is not installed (CI installs it)")


def on_postgres():
    return (os.environ.get("DATABASE_URL") or "").startswith("postgresql")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask(env, *args, check=True, timeout=120):
    """Run `flask --app wsgi ARGS` as an operator would; return the finished process."""
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def fresh_database(tmp_path):
    """A factory of empty databases (PostgreSQL when the suite runs on it, else SQLite files); dropped after."""
    made, admin = [], None

    def _make():
        nonlocal admin
        if not on_postgres():
            return "sqlite:///" + str(tmp_path / f"{uuid.uuid4().hex[:8]}.db")
        url = os.environ["DATABASE_URL"]
        admin = admin or sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                                          isolation_level="AUTOCOMMIT")
        name = f"bs_deploy_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        made.append(name)
        return url.rsplit("/", 1)[0] + "/" + name

    yield _make
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def cli_env(tmp_path):
    """The environment of an operator's shell: the suite's own settings stripped, a private instance folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "APP_ENV")}
    env.update({"INSTANCE_DIR": str(tmp_path / "instance"), "PYTHONPATH": ROOT})
    return env
