"""PostgreSQL backups of Branch Study, and the restore drill that proves one restores.

    python deploy/pg_backup.py backup --dir /var/lib/branch-study/backups [--keep-days 14]
    python deploy/pg_backup.py drill /var/lib/branch-study/backups/branch-study-20261130-0230.dump

backup: pg_dump (custom format) of DATABASE_URL, and beside it each table's row count taken in the very snapshot
the dump was taken from (an exported snapshot), so the counts are exact on a live database; dumps older than
--keep-days are deleted. drill: restore a dump into a new, empty database on the same server, count its rows, compare
with the counts the backup wrote, drop the database; exit 1 on any difference. The drill needs a role that may
CREATE DATABASE (run it as postgres, or set DRILL_ADMIN_URL).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

COUNT_TABLES = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name
"""


def _libpq_url(url):
    # The app accepts SQLAlchemy's spellings; libpq and the PostgreSQL tools take only postgresql://.
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


def _pg_env(url):
    """The environment that points pg_dump/pg_restore at `url`: the password never shows in the process list."""
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD", "dbname": "PGDATABASE"}
    return {**os.environ, **{names[k]: str(v) for k, v in conninfo_to_dict(url).items() if k in names}}


def row_counts(conn):
    """{table: rows} for every table of the public schema, in the connection's current snapshot."""
    tables = [row[0] for row in conn.execute(COUNT_TABLES)]
    return {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
            for t in tables}


def backup(url, folder, keep_days):
    """Dump the database and its row counts from one snapshot; prune old dumps; return the dump's path."""
    os.makedirs(folder, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = os.path.join(folder, f"branch-study-{stamp}.dump")
    with psycopg.connect(url) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        counts = row_counts(conn)
        # The dump reads the same snapshot, so the counts describe exactly what it holds.
        subprocess.run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={path}.partial"],
                       env=_pg_env(url), check=True)
        conn.rollback()
    with open(path + ".counts.json", "w", encoding="utf-8") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
    os.replace(path + ".partial", path)  # a dump that is there is whole
    _prune(folder, keep_days)
    print(f"backup {path}: {len(counts)} tables, {sum(counts.values())} rows")
    return path


def _prune(folder, keep_days):
    cutoff = time.time() - timedelta(days=keep_days).total_seconds()
    for name in os.listdir(folder):
        full = os.path.join(folder, name)
        if name.startswith("branch-study-") and os.path.getmtime(full) < cutoff:
            os.remove(full)


def drill(url, dump, admin_url=None):
    """Restore `dump` into a fresh database, compare row counts with the backup's; return the differences."""
    with open(dump + ".counts.json", encoding="utf-8") as f:
        expected = json.load(f)
    base = url.rsplit("/", 1)[0]
    admin_url = admin_url or base + "/postgres"
    name = f"branch_study_drill_{int(time.time())}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            target = admin_url.rsplit("/", 1)[0] + "/" + name
            subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                            f"--dbname={conninfo_to_dict(target)['dbname']}", dump], env=_pg_env(target), check=True)
            with psycopg.connect(target) as conn:
                restored = row_counts(conn)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    differences = {t: (expected.get(t), restored.get(t)) for t in sorted(set(expected) | set(restored))
                   if expected.get(t) != restored.get(t)}
    for table in sorted(expected):
        print(f"{table:40} backup {expected[table]:>10}  restored {restored.get(table, '-'):>10}")
    print("restore drill: row counts equal" if not differences else f"restore drill FAILED: {differences}")
    return differences


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("backup", help="dump the database with its row counts; prune old dumps")
    make.add_argument("--dir", required=True)
    make.add_argument("--keep-days", type=int, default=14)
    check = sub.add_parser("drill", help="restore a dump into a fresh database and compare row counts")
    check.add_argument("dump")
    args = parser.parse_args(argv)
    url = _libpq_url(os.environ["DATABASE_URL"])
    if args.command == "backup":
        backup(url, args.dir, args.keep_days)
        return 0
    admin = os.environ.get("DRILL_ADMIN_URL")
    return 1 if drill(url, args.dump, _libpq_url(admin) if admin else None) else 0


if __name__ == "__main__":
    sys.exit(main())
