"""`make bench`: load the data set, start the production stack, drive each scenario with wrk, check, report.

The stack is gunicorn (2 × cores sync workers, APP_ENV=production) on PostgreSQL and Redis, the fake WeChat
API, and for the push the scheduler and senders as their own processes. Every scenario runs under the same
wrk settings as a constant-JSON baseline (GET /healthz) measured in the same run, and is reported as a ratio
to it. Each scenario then checks its result in the database (and the fake), so a fast wrong run fails.
"""
import argparse
import functools
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone

import psycopg
import redis as redis_lib
import requests

from bench import cpu, disk
from bench.generate import generate, sign_for_epoch
from bench.push import cut_reason, push_accounting, push_budget, stop_grace
from bench.report import evaluate, save_results, summarize_profile, summary_markdown
from bench.services import free_port, workers_rss
from config import DEFAULT_OUTBOX_BATCH
from members import authlog

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
LUA = os.path.join(BENCH, "lua", "pool.lua")
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
SECRET = "bench-secret-" + "x" * 40
APPID, APPSECRET = "wx-bench-appid", "bench-app-secret"

GUNICORN = []  # gunicorn's pid once started: whose children are the workers, for each scenario's CPU (bench/cpu.py)
SYNC_DIR = []  # a directory on the WAL's filesystem, for each scenario's disk syncs (bench/disk.py), if there is one
GROUPS = ("quiz", "reading", "dash", "push")


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Stack:
    """The processes of one run, started and stopped by pid (never by name)."""

    def __init__(self, work, env):
        self.work, self.env, self.procs = work, env, {}

    def start(self, name, argv, extra_env=None):
        out = open(os.path.join(self.work, f"{name}.log"), "w")
        env = dict(self.env, **(extra_env or {}))
        self.procs[name] = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self.procs[name]

    def stop(self, name):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_many(self, names, grace):
        """SIGTERM each at once, give them `grace` seconds together to stop, then SIGKILL the rest; return the
        names that had to be killed."""
        procs = {name: self.procs.pop(name) for name in names if name in self.procs}
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline, killed = time.time() + grace, []
        for name, proc in procs.items():
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                killed.append(name)
        return killed

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)


def stack_env(db_url, redis_url, fake, base):
    """The environment of every process of the production stack (gunicorn, scheduler, senders, flask commands)."""
    env = dict(os.environ, APP_ENV="production", SECRET_KEY=SECRET, DATABASE_URL=db_url, REDIS_URL=redis_url,
               WECHAT_APPID=APPID, WECHAT_SECRET=APPSECRET, WECHAT_API_BASE=fake, WECOM_API_BASE=fake,
               PUBLIC_URL=base, LOG_LEVEL="WARNING", PYTHONPATH=ROOT)
    env.pop("FLASK_APP", None)
    return env


def wait_http(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def wrk(base, name, file, path, method="GET", body=None, once=False, threads=2, connections=8, duration=20):
    """Run one wrk scenario; return its parsed figures."""
    env = dict(os.environ, BENCH_FILE=file, BENCH_THREADS=str(threads), BENCH_METHOD=method, BENCH_PATH=path,
               BENCH_BODY=body or "", BENCH_ONCE="1" if once else "0")
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
            "-s", LUA, base]
    probe = disk.SyncProbe(SYNC_DIR[0]).start() if SYNC_DIR else None
    try:
        before = cpu.snapshot(GUNICORN[0]) if GUNICORN else None
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
        after = cpu.snapshot(GUNICORN[0]) if GUNICORN else None
    finally:
        synced = probe.stop() if probe else None
    line = next(row for row in out.splitlines() if row.startswith("BENCHJSON "))
    data = json.loads(line[len("BENCHJSON "):])
    seconds = data["duration_us"] / 1e6
    figures = {"name": name, "method": method, "path": path, "threads": threads, "connections": connections,
               "duration_s": round(seconds, 1), "requests": data["requests"], "ok": data["ok"],
               "client_errors": data["client_errors"], "server_errors": data["server_errors"],
               "socket_errors": data["socket_errors"], "statuses": data["statuses"], "sent": data["sent"],
               "rps": round(data["ok"] / seconds, 1),
               "p50_ms": data["p50_us"] / 1000, "p95_ms": data["p95_us"] / 1000, "p99_ms": data["p99_us"] / 1000,
               "max_ms": data["max_us"] / 1000, "exhausted_threads": data["exhausted_threads"]}
    if before is not None:
        figures["cpu_ms_per_request"] = cpu.spent(before, after, data["requests"])
    if synced is not None:
        figures["disk_syncs"] = synced
    log(f"{name}: {figures['rps']} ok/s p50={figures['p50_ms']}ms p95={figures['p95_ms']}ms "
        f"p99={figures['p99_ms']}ms statuses={figures['statuses']} cpu={figures.get('cpu_ms_per_request')}")
    return figures


def pool_members(path):
    """The member ids of a TSV pool (token, member id, ...)."""
    return [int(line.split("\t")[1]) for line in open(path)]


def write_tsv(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write("\t".join(str(v) for v in line) + "\n")
    return path


def machine_info(db_url):
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
    cpu = re.search(r"model name\s*:\s*(.+)", open("/proc/cpuinfo").read())
    with psycopg.connect(db_url) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        try:  # a superuser's (or pg_read_all_settings') to read; the run goes on without it
            data_directory = conn.execute("SHOW data_directory").fetchone()[0]
        except psycopg.Error:
            data_directory = None
    redis_version = redis_lib.Redis.from_url(REDIS).info("server")["redis_version"]
    gunicorn = subprocess.run([sys.executable, "-m", "gunicorn", "--version"], capture_output=True,
                              text=True).stdout.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    return {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "cpu": cpu.group(1).strip() if cpu else platform.processor(), "python": platform.python_version(),
            "postgresql": pg, "redis": redis_version, "gunicorn": gunicorn, "wrk": wrk_version,
            "kernel": platform.release(), "pg_data_directory": data_directory}


class Checks:
    def __init__(self):
        self.items = []

    def expect(self, name, ok, detail):
        self.items.append({"check": name, "passed": bool(ok), "detail": detail})
        log(f"check {'PASS' if ok else 'FAIL'}: {name} — {detail}")

    @property
    def passed(self):
        return all(c["passed"] for c in self.items)


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    """Run the benchmark, print its summary, save the results; exit 1 when a check failed."""
    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args()
    started = time.time()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    checks = Checks()
    report = {"started_at": stamp, "groups": sorted(args.only)}
    run_benchmark(args, report, checks)
    report["checks"] = checks.items
    report["total_seconds"] = round(time.time() - started, 1)
    report["targets"] = evaluate(report)
    markdown = summary_markdown(report)
    print(markdown)
    if not args.no_save and "scenarios" in report:
        save_results(report, markdown, stamp, partial=args.only != set(GROUPS))
    sys.exit(0 if checks.passed else 1)


def parse_args(argv=None):
    """The command line, with --only as a set of groups."""
    parser = argparse.ArgumentParser(description="Branch Study benchmarks (issue #8)")
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 15)))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", 8)))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--committees", type=int, default=20)
    parser.add_argument("--branches-per-committee", type=int, default=250)
    parser.add_argument("--members-per-branch", type=int, default=20)
    parser.add_argument("--senders", type=int, default=int(os.environ.get("BENCH_SENDERS", 4 * os.cpu_count())))
    parser.add_argument("--push-timeout", type=int, default=int(os.environ.get("BENCH_PUSH_BUDGET") or 0) or None,
                        help="a fixed number of seconds the push may take before the run records its rate and "
                             "moves on; by default the budget is sized from the baseline measured in the same run "
                             "(bench/push.py: push_budget)")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the py-spy profiles of the hot paths")
    parser.add_argument("--keep", action="store_true", help="keep the database and work files")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results")
    parser.add_argument("--reuse", metavar="DATABASE:WORKDIR",
                        help="run against a database and work files kept by an earlier --keep run (not migrated, "
                             "reloaded or dropped): for iterating, or to compare two checkouts on the same data")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"comma-separated scenario groups to run, of {','.join(GROUPS)} (the baseline always "
                             f"runs); a partial run writes only its stamped result files, not latest.*")
    args = parser.parse_args(argv)
    args.only = {g.strip() for g in args.only.split(",") if g.strip()}
    if not args.only or args.only - set(GROUPS):
        parser.error(f"--only takes groups among {','.join(GROUPS)}")
    return args


def run_benchmark(args, report, checks):
    """Load the data, start the stack, run the chosen groups into `report`, and clean up; a crash is a failed
    check, not an exception."""
    dbname = f"bench_{os.getpid()}"
    work = f"/tmp/bench_{os.getpid()}"
    if args.reuse:
        dbname, _, work = args.reuse.partition(":")
        args.keep = True
    os.makedirs(work, exist_ok=True)
    args.work = work
    db_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
    args.db_url = db_url
    app_port, fake_port = free_port(), free_port()
    fake = f"http://127.0.0.1:{fake_port}"
    base = f"http://127.0.0.1:{app_port}"
    workers = 2 * os.cpu_count()
    env = stack_env(db_url, REDIS, fake, base)
    stack = Stack(work, env)
    report["settings"] = {"duration_s": args.duration, "connections": args.connections, "wrk_threads": args.threads,
                          "gunicorn_workers": workers, "worker_class": "sync", "senders": args.senders}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    redis_client = redis_lib.Redis.from_url(REDIS)
    try:
        log(f"database {dbname}, app :{app_port}, fake WeChat :{fake_port}, work files {work}")
        prepare_data(args, report, dbname, db_url, flask, env, redis_client)
        facts = json.load(open(os.path.join(work, "facts.json")))
        report["machine"] = machine_info(db_url)
        sync_dir = disk.probe_dir(report["machine"]["pg_data_directory"], [work])
        SYNC_DIR[:] = [sync_dir] if sync_dir else []
        stack.start("fakewechat", [sys.executable, "-m", "fakewechat", "--port", str(fake_port), "--appid", APPID,
                                   "--secret", APPSECRET])
        wait_http(f"{fake}/_fake/templates")
        stack.start("gunicorn", [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{app_port}",
                                 "--log-level", "warning", "wsgi:app"])
        wait_http(f"{base}/readyz")
        GUNICORN[:] = [stack.procs["gunicorn"].pid]
        report["auth_relay"] = start_auth_relay(stack, flask, redis_client, args.work)
        report["reading_day"] = prepare_reading_day(flask, env)
        report["scenarios"] = run_scenarios(args, base, work, facts, db_url, checks)
        if args.profile:
            log("profiling the hot paths with py-spy...")
            report["profiles"] = profile_pass(args, base, work, facts, stack.procs["gunicorn"].pid)
        report["workers_rss_mb"] = sorted(workers_rss(stack.procs["gunicorn"].pid).values())
        log(f"workers' resident memory after the scenarios: {report['workers_rss_mb']} MB")
        if "push" in args.only:
            report["push"] = run_push(args, stack, flask, env, fake, facts, db_url, checks,
                                      report["scenarios"]["baseline"]["rps"])
    except Exception as exc:  # a crash is a failed run, reported like a failed check
        checks.expect("run completed", False, f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
    finally:
        stack.stop_all()
        if not args.keep:
            clean_up(dbname, work, redis_client)


def start_auth_relay(stack, flask, redis_client, work, wait_seconds=30):
    """The auth relay, as the scheduler runs it in production (members.authlog): without it every token is read from
    the tables. Once its marker appears, the tokens are given its epoch, as logins while it stands would be. Returns
    whether it appeared (an older checkout has no relay: its run is measured without)."""
    stack.start("auth-relay", flask + ["auth-relay"])
    deadline = time.time() + wait_seconds
    while time.time() < deadline:
        epoch = redis_client.get(authlog.MARKER)
        if epoch:
            sign_for_epoch(work, SECRET, epoch.decode())
            log("auth relay running: tokens are trusted from their claims")
            return True
        time.sleep(0.5)
    log("auth relay did not start (an older checkout?): tokens are read from the tables")
    return False


def prepare_reading_day(flask, env):
    """Every branch's list today, as the scheduler's reading_day job builds it after midnight (learning.services.
    branch_today): the morning's state. Returns its time in seconds, or None (an older checkout has no such job: its
    run is measured without)."""
    t = time.perf_counter()
    done = subprocess.run(flask + ["reading-day"], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        log("no reading-day command (an older checkout?): each branch's list is built by its first reader, if at all")
        return None
    seconds = round(time.perf_counter() - t, 1)
    log(f"reading day prepared in {seconds} s: {done.stdout.strip()}")
    return seconds


def prepare_data(args, report, dbname, db_url, flask, env, redis_client):
    """Create, migrate and load a fresh database (a reused one is taken as it is) and empty the bench's Redis."""
    if not args.reuse:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {dbname}")
    redis_client.flushdb()
    t = time.perf_counter()
    if not args.reuse:  # a reused database keeps its schema (so an older checkout can run against it too)
        subprocess.run(flask + ["db", "upgrade", "heads"], cwd=ROOT, env=env, check=True, capture_output=True)
    report["schema_seconds"] = round(time.perf_counter() - t, 1)

    os.environ["SECRET_KEY"] = SECRET
    if not args.reuse:
        log("loading data (COPY)...")
        report["load"] = generate(db_url, args.work, SECRET, args.committees, args.branches_per_committee,
                                  args.members_per_branch)
        log(f"loaded {report['load']['rows_total']:,} rows in {report['load']['seconds']} s")


def clean_up(dbname, work, redis_client):
    """Drop the run's database, empty the bench's Redis and remove the work files; a failure is only logged."""
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        redis_client.flushdb()
        shutil.rmtree(work, ignore_errors=True)
    except Exception as exc:
        log(f"cleanup failed: {exc}")


def run_scenarios(args, base, work, facts, db_url, checks):
    """The HTTP scenarios in order, each checked; returns {name: figures} with ratios to the baseline."""
    members = [line.rstrip("\n").split("\t") for line in open(os.path.join(work, "members.tsv"))]
    half = len(members) // 2
    quiz_pool = write_tsv(os.path.join(work, "quiz_pool.tsv"), members[:half])
    read_pool = write_tsv(os.path.join(work, "read_pool.tsv"), members[half:])
    all_members = os.path.join(work, "members.tsv")
    run = dict(threads=args.threads, connections=args.connections, duration=args.duration)
    out = {}

    wrk(base, "warmup", all_members, "/api/v1/quizzes/current", duration=5, threads=args.threads,
        connections=args.connections)
    out["baseline"] = wrk(base, "baseline", all_members, "/healthz", **run)

    token_of = {int(m[1]): m[0] for m in members}
    if "quiz" in args.only:
        run_quiz(base, work, facts, db_url, checks, out, quiz_pool, token_of, run)
    if "reading" in args.only:
        run_reading(base, work, facts, db_url, checks, out, read_pool, token_of, run)
    if "dash" in args.only:
        run_dash(args, base, work, facts, checks, out, run)

    baseline = out["baseline"]
    for name, figures in out.items():
        figures["rps_ratio"] = round(figures["rps"] / baseline["rps"], 3) if baseline["rps"] else None
        for p in ("p50", "p95", "p99"):
            figures[f"{p}_ratio"] = round(figures[f"{p}_ms"] / baseline[f"{p}_ms"], 1) if baseline[f"{p}_ms"] else None
    return out


def run_quiz(base, work, facts, db_url, checks, out, quiz_pool, token_of, run, submit_seconds=None):
    """Quiz peak: fetch, start, autosave, submit — each step by many distinct members (submit for submit_seconds, if
    given, not run's)."""
    all_members = os.path.join(work, "members.tsv")
    quiz_id = facts["current_quiz"]
    answers = json.dumps({"answers": facts["answers"]})
    out["quiz_current"] = wrk(base, "quiz_current", all_members, "/api/v1/quizzes/current", **run)
    out["quiz_start"] = wrk(base, "quiz_start", quiz_pool, f"/api/v1/quizzes/{quiz_id}/attempts", "POST",
                            once=True, **run)
    drain()
    # Counted over this step's own members: the soak runs these steps again after its own writes to the same quiz.
    scope = {"q": quiz_id, "m": pool_members(quiz_pool)}
    with psycopg.connect(db_url) as conn:
        started = conn.execute("SELECT member_id, id FROM quiz_attempts WHERE quiz_id = %(q)s "
                               "AND member_id = ANY(%(m)s)", scope).fetchall()
        per_member = conn.execute("SELECT count(*) FROM (SELECT member_id FROM quiz_attempts WHERE quiz_id = %(q)s "
                                  "AND member_id = ANY(%(m)s) GROUP BY member_id HAVING count(*) > 1) d",
                                  scope).fetchone()[0]
    checks.expect("quiz: one attempt per member that started", within(len(started), out["quiz_start"])
                  and per_member == 0, f"{len(started)} attempts stored for {span(out['quiz_start'])} starts, "
                                       f"{per_member} members with two")
    attempts = write_tsv(os.path.join(work, "attempts.tsv"), [(token_of[m], a) for m, a in started])
    partial = json.dumps({"answers": dict(list(facts["answers"].items())[:5])})
    out["quiz_autosave"] = wrk(base, "quiz_autosave", attempts, "/api/v1/attempts/{1}/answers", "PUT",
                               body=partial, **run)
    out["quiz_submit"] = wrk(base, "quiz_submit", attempts, "/api/v1/attempts/{1}/submit", "POST", body=answers,
                             once=True, **dict(run, duration=submit_seconds or run["duration"]))
    drain()
    with psycopg.connect(db_url) as conn:
        submitted, results, graded, full = conn.execute(
            "SELECT (SELECT count(*) FROM quiz_attempts WHERE quiz_id = %(q)s AND member_id = ANY(%(m)s) "
            "AND status = 'submitted'), "
            "(SELECT count(*) FROM quiz_results WHERE quiz_id = %(q)s AND member_id = ANY(%(m)s)), "
            "(SELECT count(*) FROM quiz_attempt_answers g JOIN quiz_attempts a ON a.id = g.attempt_id "
            "WHERE g.quiz_id = %(q)s AND a.member_id = ANY(%(m)s)), "
            "(SELECT count(*) FROM quiz_results WHERE quiz_id = %(q)s AND member_id = ANY(%(m)s) AND score = 100)",
            scope).fetchone()
    checks.expect("quiz: each submit stored exactly once, graded and scored",
                  within(submitted, out["quiz_submit"]) and results == submitted and full == submitted
                  and graded == submitted * len(facts["current_questions"]),
                  f"{span(out['quiz_submit'])} submits; {submitted} attempts submitted, {results} results "
                  f"({full} full marks), {graded} graded answers")
    checks.expect("quiz: no server errors", all(out[n]["server_errors"] == 0 and out[n]["socket_errors"] == 0
                                                for n in ("quiz_current", "quiz_start", "quiz_autosave",
                                                          "quiz_submit")),
                  "5xx/socket errors: " + ", ".join(f"{n}={out[n]['server_errors']}/{out[n]['socket_errors']}"
                                                   for n in ("quiz_current", "quiz_start", "quiz_autosave",
                                                             "quiz_submit")))


def run_reading(base, work, facts, db_url, checks, out, read_pool, token_of, run, finish_seconds=None):
    """Morning reading: today's material, open an item, finish it (for finish_seconds, if given, not run's)."""
    all_members = os.path.join(work, "members.tsv")
    material = facts["today_material"]
    out["reading_today"] = wrk(base, "reading_today", all_members, "/api/v1/materials/today", **run)
    out["reading_open"] = wrk(base, "reading_open", read_pool, f"/api/v1/materials/{material}/reads", "POST",
                              once=True, **run)
    drain()
    scope = {"t": material, "m": pool_members(read_pool)}  # this step's own members, as in run_quiz
    with psycopg.connect(db_url) as conn:
        opened = conn.execute("SELECT member_id FROM readings WHERE material_id = %(t)s AND member_id = ANY(%(m)s)",
                              scope).fetchall()
    checks.expect("reading: one reading row per member who opened", within(len(opened), out["reading_open"]),
                  f"{len(opened)} readings stored for {span(out['reading_open'])} opens")
    opened_pool = write_tsv(os.path.join(work, "opened.tsv"), [(token_of[m],) for (m,) in opened])
    out["reading_finish"] = wrk(base, "reading_finish", opened_pool, f"/api/v1/materials/{material}/reads/finish",
                                "POST", body=json.dumps({"client_seconds": 300}), once=True,
                                **dict(run, duration=finish_seconds or run["duration"]))
    drain()
    with psycopg.connect(db_url) as conn:
        finished, rows = conn.execute("SELECT count(finished_at), count(*) FROM readings WHERE material_id = %(t)s "
                                      "AND member_id = ANY(%(m)s)", scope).fetchone()
    checks.expect("reading: each finish recorded once, no duplicate readings",
                  within(finished, out["reading_finish"]) and rows == len(opened),
                  f"{span(out['reading_finish'])} finishes, {finished} readings finished, {rows} rows")
    checks.expect("reading: no server errors", all(out[n]["server_errors"] == 0 and out[n]["socket_errors"] == 0
                                                   for n in ("reading_today", "reading_open", "reading_finish")),
                  ", ".join(f"{n}={out[n]['statuses']}" for n in ("reading_today", "reading_open", "reading_finish")))


def run_dash(args, base, work, facts, checks, out, run):
    """Dashboards: a secretary's branch, an admin's committee (250 branches), the whole company."""
    week = facts["week_key"]
    dash = dict(run, connections=min(args.connections, 4))
    out["dash_branch"] = wrk(base, "dash_branch", os.path.join(work, "secretaries.tsv"),
                             f"/api/v1/branches/{{1}}/reading?week={week}", **dash)
    out["dash_committee"] = wrk(base, "dash_committee", os.path.join(work, "admins.tsv"),
                                f"/api/v1/committees/{{1}}/reading?week={week}&per_page=200", **dash)
    out["dash_company"] = wrk(base, "dash_company", os.path.join(work, "root_admins.tsv"),
                              f"/api/v1/committees/{{1}}/reading?week={week}&per_page=20", **dict(dash, connections=2))
    token = open(os.path.join(work, "root_admins.tsv")).readline().split("\t")[0]
    body = requests.get(f"{base}/api/v1/committees/{facts['root_committee']}/reading?week={week}",
                        headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    checks.expect("dashboards: the company view counts every member and branch",
                  body.get("total", {}).get("members") == facts["members"]
                       and body.get("branches") == facts["branches"],
                  f"members={body.get('total', {}).get('members')} branches={body.get('branches')} "
                  f"rate={body.get('total', {}).get('rate')}")
    checks.expect("dashboards: every request answered 200", all(
        out[n]["ok"] == out[n]["requests"] and out[n]["requests"] > 0 for n in ("dash_branch", "dash_committee",
                                                                              "dash_company")),
        ", ".join(f"{n}={out[n]['statuses']}" for n in ("dash_branch", "dash_committee", "dash_company")))


def py_spy(pid, seconds, out, subprocesses=True):
    """Start py-spy sampling a process (and its workers) for some seconds into a raw (collapsed) file."""
    exe = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    argv = [exe, "record", "-p", str(pid), "-d", str(seconds), "-r", "100", "-f", "raw", "-o", out, "--nonblocking"]
    return subprocess.Popen(argv + (["--subprocesses"] if subprocesses else []), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def profile_pass(args, base, work, facts, gunicorn_pid):
    """py-spy over all gunicorn workers while wrk drives the scenarios that carry throughput targets, the writes
    included, each by members who have not yet taken that step."""
    members = os.path.join(work, "members.tsv")
    profiles = {}
    seconds = 8
    run = dict(threads=args.threads, connections=args.connections, duration=seconds)
    plan = []
    if "quiz" in args.only:
        plan += _quiz_profile_plan(args, work, facts, members)
    if "reading" in args.only:
        plan += _reading_profile_plan(args, work, facts, members)
    if "dash" in args.only:
        plan.append(("dash_company", os.path.join(work, "root_admins.tsv"),
                     f"/api/v1/committees/{{1}}/reading?week={facts['week_key']}&per_page=20", "GET", None, False))
    for name, file, path, method, body, once in plan:
        file = file() if callable(file) else file  # a pool the step before made
        raw = os.path.join(work, f"profile_{name}.raw")
        spy = py_spy(gunicorn_pid, seconds, raw)
        time.sleep(1)
        wrk(base, f"profile_{name}", file, path, method, body=body, once=once,
            **(dict(run, connections=2) if name.startswith("dash") else run))
        spy.wait()
        if once:
            drain()
        profiles[name] = summarize_profile(raw)
    return profiles


def _quiz_profile_plan(args, work, facts, members):
    # Members who have not started yet (the reading half never took the quiz) start, save, then submit.
    lines = [line.rstrip("\n").split("\t") for line in open(os.path.join(work, "read_pool.tsv"))]
    pool = write_tsv(os.path.join(work, "profile_pool.tsv"), lines)
    quiz_id = facts["current_quiz"]

    @functools.cache
    def attempts():
        with psycopg.connect(args.db_url) as conn:
            rows = conn.execute("SELECT member_id, id FROM quiz_attempts WHERE quiz_id = %s "
                                "AND status = 'in_progress'", (quiz_id,)).fetchall()
        token_of = {int(m[1]): m[0] for m in lines}
        return write_tsv(os.path.join(work, "profile_attempts.tsv"), [(token_of[m], a) for m, a in rows
                                                                    if m in token_of])

    partial = json.dumps({"answers": dict(list(facts["answers"].items())[:5])})
    return [("quiz_current", members, "/api/v1/quizzes/current", "GET", None, False),
            ("quiz_start", pool, f"/api/v1/quizzes/{quiz_id}/attempts", "POST", None, True),
            ("quiz_autosave", attempts, "/api/v1/attempts/{1}/answers", "PUT", partial, False),
            ("quiz_submit", attempts, "/api/v1/attempts/{1}/submit", "POST",
             json.dumps({"answers": facts["answers"]}), True)]


def _reading_profile_plan(args, work, facts, members):
    # Members who have not opened today's item yet (the quiz half never read) open it, then leave it.
    lines = [line.rstrip("\n").split("\t") for line in open(os.path.join(work, "quiz_pool.tsv"))]
    pool = write_tsv(os.path.join(work, "profile_read_pool.tsv"), lines)
    material = facts["today_material"]

    def opened():
        with psycopg.connect(args.db_url) as conn:
            rows = conn.execute("SELECT member_id FROM readings WHERE material_id = %s AND finished_at IS NULL",
                                (material,)).fetchall()
        token_of = {int(m[1]): m[0] for m in lines}
        return write_tsv(os.path.join(work, "profile_opened.tsv"), [(token_of[m],) for (m,) in rows if m in token_of])

    return [("reading_today", members, "/api/v1/materials/today", "GET", None, False),
            ("reading_open", pool, f"/api/v1/materials/{material}/reads", "POST", None, True),
            ("reading_finish", opened, f"/api/v1/materials/{material}/reads/finish", "POST",
             json.dumps({"client_seconds": 300}), True)]


def drain():
    """Let requests still in flight when wrk stopped finish before counting rows."""
    time.sleep(2)


def within(stored, figures):
    # wrk stops with requests in flight: the server completes them but wrk never counts their answers, so a
    # correct run stores at least every acknowledged write and at most every one sent.
    return figures["ok"] <= stored <= figures["sent"]


def span(figures):
    return f"{figures['ok']} acknowledged / {figures['sent']} sent"


def fake_summary(fake, template_id):
    return requests.get(f"{fake}/_fake/messages/summary", params={"template_id": template_id}, timeout=30).json()


def run_push(args, stack, flask, env, fake, facts, db_url, checks, baseline_rps):
    """The 08:00 push: today's material to every member, through the outbox and senders into the fake WeChat.

    It runs until every message is delivered, within a budget sized from the baseline (bench/push.py); the
    senders are then stopped gracefully, and the outbox is compared with the fake recipient by recipient.
    """
    template = facts["template_id"]
    expected = facts["members"]
    budget = push_budget(expected, baseline_rps, args.push_timeout)
    granted = requests.post(f"{fake}/_fake/consents/bulk", json={"openids": facts["openids"],
                                                                 "template_id": template, "count": 1}, timeout=60)
    granted.raise_for_status()
    # The push must go out whatever hour the benchmark runs at: no quiet hours in this stack. Its scheduler stands for
    # one that has run all along, so it catches nothing up: started fresh on the generated data, it would otherwise
    # run every job still in its window (on the first three days of a month, the month's 1+4+1 table and reminders
    # to 90,000 members) beside the 08:00 push.
    push_env = {"QUIET_START": "00:00", "QUIET_END": "00:00", "SCHEDULER_CATCH_UP": "0"}
    stack.start("scheduler", flask + ["scheduler", "--no-sender"], push_env)
    for n in range(args.senders):
        stack.start(f"sender{n}", flask + ["notifications", "send"], push_env)
    time.sleep(3)  # let the scheduler's catch-up and the senders' imports settle before the clock starts
    log(f"push: triggering daily_material with {args.senders} senders; budget {budget} s "
        f"({'fixed' if args.push_timeout else f'baseline {baseline_rps} req/s'})")
    t0 = time.time()
    job = subprocess.run(flask + ["notifications", "run-job", "daily_material"], cwd=ROOT,
                         env=dict(env, **push_env), capture_output=True, text=True)
    enqueue_seconds = time.time() - t0
    log(f"push: job answered in {enqueue_seconds:.1f}s: {job.stdout.strip()} {job.stderr.strip()[-300:]}")
    with psycopg.connect(db_url) as conn:
        started_at = conn.execute("SELECT extract(epoch FROM started_at) FROM job_runs WHERE job = 'daily_material'"
                                  ).fetchone()
    if started_at:
        t0 = min(t0, float(started_at[0]))  # the scheduler's catch-up may have started it before our trigger
    profile = None
    if args.profile:
        profile = py_spy(stack.procs["sender0"].pid, 20, os.path.join(args.work, "profile_sender.raw"),
                         subprocesses=False)
    summary, reason = wait_for_push(fake, template, expected, t0, budget)
    finished = reason == "finished"
    if profile is not None:
        profile.wait()
        report_profile = summarize_profile(os.path.join(args.work, "profile_sender.raw"))
    else:
        report_profile = None
    last = summary.get("last_at") or time.time()
    first = summary.get("first_at") or t0
    delivered = summary.get("total", 0)
    elapsed = last - t0
    rate = delivered / elapsed if elapsed > 0 and delivered else None
    # Stop the senders together and let each finish the batch in hand; one killed after the grace leaves rows
    # `calling`, which the accounting counts as in flight.
    grace = stop_grace(rate, args.senders, int(env.get("OUTBOX_BATCH") or DEFAULT_OUTBOX_BATCH))
    killed = stack.stop_many([n for n in stack.procs if n.startswith("sender")], grace)
    account = account_push(fake, template, db_url, expected)
    push = {"expected": expected, "delivered": account["received"], "distinct_recipients": account["distinct"],
            "finished": finished, "cut": None if finished else reason, "outbox_rows": sum(account["statuses"].values()),
            "statuses": account["statuses"], "in_flight_at_cut": account["in_flight"],
            "in_flight_received": account["in_flight_received"],
            "enqueue_seconds": round(enqueue_seconds, 1), "first_message_after_s": round(first - t0, 1),
            "total_seconds": round(elapsed, 1) if finished else None,
            "measured_seconds": round(elapsed, 1), "messages_per_second": round(rate, 1) if rate else None,
            "ratio_to_baseline": round(rate / baseline_rps, 3) if rate and baseline_rps else None,
            "projected_total_seconds": round(expected / rate, 0) if rate and not finished else None,
            "senders": args.senders, "budget_seconds": budget, "budget_rule": "fixed" if args.push_timeout
            else "baseline", "stop_grace_seconds": grace, "senders_killed": killed, "sender_profile": report_profile}
    log(f"push: {push}")
    checks.expect("push: the fan-out queued one notification per member", account["queued_rows_ok"],
                  f"outbox {push['outbox_rows']} rows, {account['keys']} idempotency keys, {account['members']} "
                  f"members, expected {expected}")
    checks.expect("push: every message delivered exactly once" if finished
                  else f"push: delivered so far at most once, none lost, the rest queued (cut: {reason})",
                  not account["problems"] and (not finished or account["received"] == expected),
                  f"fake received {account['received']} ({account['distinct']} distinct) of {expected}; outbox "
                  f"statuses {account['statuses']}; {account['in_flight']} in flight at the cut "
                  f"({account['in_flight_received']} of them received); senders killed {len(killed)}; "
                  f"consents spent {account['consents_spent']}; problems: {'; '.join(account['problems']) or 'none'}")
    for name in [n for n in stack.procs if n.startswith("sender") or n == "scheduler"]:
        stack.stop(name)
    return push


def wait_for_push(fake, template, expected, t0, budget):
    """Poll the fake until the push finishes, runs out of budget or stalls; return its last summary and why."""
    summary, seen, progress_at = {}, -1, time.time()
    while True:
        summary = fake_summary(fake, template)
        now = time.time()
        if summary["total"] != seen:
            seen, progress_at = summary["total"], now
        reason = cut_reason(summary["total"], expected, now - t0, now - progress_at, budget)
        if reason:
            log(f"push: {reason} at {summary['total']} of {expected}, {now - t0:.0f} s after the trigger")
            return summary, reason
        time.sleep(1)


def account_push(fake, template, db_url, expected):
    """What the fake received and what the outbox says, recipient by recipient (bench/push.py)."""
    received = [m["touser"] for m in requests.get(f"{fake}/_fake/messages", params={"template_id": template},
                                                   timeout=300).json()["messages"]]
    with psycopg.connect(db_url) as conn:
        outbox = conn.execute("SELECT n.status, m.openid FROM notifications n JOIN members m ON m.id = n.member_id "
                              "WHERE n.kind = 'study_material'").fetchall()
        rows, keys, members = conn.execute(
            "SELECT count(*), count(DISTINCT idem_key), count(DISTINCT member_id) FROM notifications "
            "WHERE kind = 'study_material'").fetchone()
        consents_left = conn.execute("SELECT sum(remaining) FROM subscription_consents").fetchone()[0]
    consents_spent = expected * 2 - consents_left  # the load gives each member two
    account = push_accounting(received, outbox, expected, consents_spent)
    account.update(keys=keys, members=members, consents_spent=consents_spent,
                   queued_rows_ok=rows == expected and keys == rows and members == expected)
    return account


if __name__ == "__main__":
    main()
