"""What a bench run reports: the issue's targets judged, the Markdown summary, the py-spy profile summary, and the
files in bench/results."""
import json
import os
import shutil
from collections import Counter

from bench import disk
from bench.push import TARGET_RATIO

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
MEMBER_SCENARIOS = ("quiz_current", "quiz_start", "quiz_autosave", "quiz_submit", "reading_today", "reading_open",
                    "reading_finish")

# Targets of issue #19, each a ratio to the constant-JSON baseline measured in the same run (so they hold on any
# machine): throughput per member scenario, and every member scenario's p99 at most P99_RATIO_TARGET × the baseline's.
TARGETS = {"quiz_current": 0.40, "reading_today": 0.40, "quiz_start": 0.20, "quiz_autosave": 0.20,
           "reading_open": 0.20, "reading_finish": 0.20, "quiz_submit": 0.10}

P99_RATIO_TARGET = 4

P99_TARGET_MS = 100

OUR_PACKAGES = {"core", "members", "learning", "quizzes", "quotas", "notifications", "console", "wsgi.py"}

COMPANY_TARGET_MS = 300

PUSH_TARGET_S = 180
# Issue #19: each gunicorn worker's resident memory after the run within 10% of what it was before the work, measured
# by this same procedure on the code before it (9c27d9c, bench/results/20261130T121528Z-memory-before.*: 118-119 MB; the
# issue's "~105 MB" was read some other way).
WORKER_RSS_BEFORE_MB, WORKER_RSS_GROWTH = 119, 1.10


def save_results(report, markdown, stamp, partial):
    """Write the stamped report; a full run also becomes latest.*, with the profiles in latest-profiles.md."""
    os.makedirs(RESULTS, exist_ok=True)
    json.dump(report, open(os.path.join(RESULTS, f"{stamp}.json"), "w"), ensure_ascii=False, indent=1)
    open(os.path.join(RESULTS, f"{stamp}.md"), "w").write(markdown)
    if partial:
        return
    shutil.copyfile(os.path.join(RESULTS, f"{stamp}.json"), os.path.join(RESULTS, "latest.json"))
    shutil.copyfile(os.path.join(RESULTS, f"{stamp}.md"), os.path.join(RESULTS, "latest.md"))
    profiles = dict(report.get("profiles") or {})
    if (report.get("push") or {}).get("sender_profile"):
        profiles["push sender (one of the senders)"] = report["push"]["sender_profile"]
    if profiles:
        text = "".join(f"## {name}\n\n```\n{body}\n```\n\n" for name, body in profiles.items())
        open(os.path.join(RESULTS, "latest-profiles.md"), "w").write(
            f"# py-spy profiles, run {stamp}\n\nInclusive share of samples over all gunicorn workers "
            f"(10 s of each scenario at the same load); our own frames, with library totals.\n\n" + text)


def summarize_profile(raw_path, top=22):
    """The hottest frames of our own code (inclusive share of samples), from a py-spy raw file."""

    inclusive, total = Counter(), 0
    if not os.path.exists(raw_path):
        return "(no profile recorded)"
    for line in open(raw_path):
        stack, _, n = line.rstrip("\n").rpartition(" ")
        if not n.isdigit():
            continue
        n = int(n)
        total += n
        seen = set()
        for frame in stack.split(";"):
            name, _, where = frame.partition(" (")
            where = where.rstrip(")")
            if where.split("/", 1)[0] in OUR_PACKAGES:
                label = f"{name} ({where.rsplit(':', 1)[0]})"
            elif "sqlalchemy" in where or "psycopg" in where:
                label = "  [SQLAlchemy + psycopg, all]"
            elif "marshmallow" in where or "flask_smorest" in where or "webargs" in where or "apispec" in where:
                label = "  [marshmallow / flask-smorest, all]"
            elif "gunicorn" in where and "sync.py" in where and name == "handle_request":
                label = "  [gunicorn request handling, all]"
            else:
                continue
            if label not in seen:
                inclusive[label] += n
                seen.add(label)
    lines = [f"{total} samples"] + [f"{v / total * 100:5.1f}%  {k}" for k, v in inclusive.most_common(top)]
    return "\n".join(lines)


def evaluate(report):
    """Each target of the issue: met or missed, with the figure."""
    out = []
    scenarios = report.get("scenarios") or {}
    for name, floor in TARGETS.items():
        if name in scenarios:
            value = scenarios[name]["rps_ratio"]
            out.append({"target": f"{name} throughput ≥ {floor:.2f} × baseline", "value": value,
                        "met": value is not None and value >= floor})
    for name in MEMBER_SCENARIOS:
        if name in scenarios:
            value = scenarios[name]["p99_ratio"]
            out.append({"target": f"{name} p99 ≤ {P99_RATIO_TARGET} × baseline p99", "value": value,
                        "met": value is not None and value <= P99_RATIO_TARGET})
    for name in MEMBER_SCENARIOS:  # issue #8's absolute bound, kept
        if name in scenarios:
            value = scenarios[name]["p99_ms"]
            out.append({"target": f"{name} p99 < {P99_TARGET_MS} ms", "value": value, "met": value < P99_TARGET_MS})
    if "dash_company" in scenarios:
        value = scenarios["dash_company"]["p95_ms"]
        out.append({"target": f"company dashboard (100,000 members) p95 < {COMPANY_TARGET_MS} ms", "value": value,
                    "met": value < COMPANY_TARGET_MS})
    if report.get("workers_rss_mb"):
        value = max(report["workers_rss_mb"])
        bound = round(WORKER_RSS_BEFORE_MB * WORKER_RSS_GROWTH, 1)
        out.append({"target": f"largest worker's resident memory ≤ {bound} MB (10% over {WORKER_RSS_BEFORE_MB} MB "
                              "before #19)",
                    "value": value, "met": value <= bound})
    push = report.get("push")
    if push:
        value = push["total_seconds"] if push["total_seconds"] is not None else f">{push['measured_seconds']}"
        out.append({"target": f"100,000-member push within {PUSH_TARGET_S} s", "value": value,
                    "met": push["total_seconds"] is not None and push["total_seconds"] <= PUSH_TARGET_S
                    and push["delivered"] == push["expected"]})
        if "ratio_to_baseline" in push:  # issue #19: the rate beside the baseline, proved only by a complete push
            value = push["ratio_to_baseline"]
            out.append({"target": f"100,000-member push messages/s ≥ {TARGET_RATIO} × baseline req/s",
                        "value": value if push["total_seconds"] is not None else f"{value} (cut)",
                        "met": push["total_seconds"] is not None and value is not None and value >= TARGET_RATIO})
    return out


def summary_markdown(report):
    """The Markdown summary written next to the JSON and shown in README."""
    m = report.get("machine", {})
    s = report["settings"]
    lines = [f"# Benchmark {report['started_at']}", "",
             f"Machine: {m.get('cores')} cores ({m.get('cpu')}), {m.get('memory_gb')} GB; Python {m.get('python')}, "
             f"PostgreSQL {m.get('postgresql')}, Redis {m.get('redis')}, {m.get('gunicorn')}, {m.get('wrk')}.", "",
             f"Load: wrk -t{s['wrk_threads']} -c{s['connections']} (dashboards -c≤4, company -c2) for "
             f"{s['duration_s']} s per scenario against gunicorn -w {s['gunicorn_workers']} (sync); every figure "
             f"beside the constant-JSON baseline measured in the same run.", ""]
    load = report.get("load")
    if load:
        lines += [f"Data: {load['rows_total']:,} rows loaded with COPY in {load['seconds']} s "
                  f"(incl. reading rollups {load.get('rollups_seconds', '-')} s, "
                  f"VACUUM ANALYZE {load['analyze_seconds']} s; "
                  f"schema {report.get('schema_seconds')} s).", ""]
    if report.get("reading_day") is not None:
        lines += [f"Before the scenarios, every branch's list today was built as the scheduler's reading_day job "
                  f"builds it after midnight: {report['reading_day']} s.", ""]
    scenarios = report.get("scenarios")
    if scenarios:
        lines += ["| scenario | ok req/s | × baseline | p50 ms | p95 ms | p99 ms | p99 × baseline | statuses |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for name, f in scenarios.items():
            lines.append(f"| {name} | {f['rps']} | {f['rps_ratio']} | {f['p50_ms']:.1f} | {f['p95_ms']:.1f} | "
                         f"{f['p99_ms']:.1f} | {f['p99_ratio']} | "
                         f"{' '.join(f'{k}:{v}' for k, v in f['statuses'].items())} |")
        lines.append("")
        cpu = {name: f["cpu_ms_per_request"] for name, f in scenarios.items() if f.get("cpu_ms_per_request")}
        if cpu:
            lines += ["CPU per request, ms (each process's CPU time from /proc before and after the scenario):", "",
                      "| scenario | gunicorn workers | PostgreSQL | Redis | wrk | other | total |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
            lines += [f"| {name} | {c.get('workers', 0)} | {c.get('postgresql', 0)} | {c.get('redis', 0)} | "
                      f"{c.get('wrk', 0)} | {c.get('other', 0)} | {c['total']} |" for name, c in cpu.items()]
            lines.append("")
        synced = {name: f["disk_syncs"] for name, f in scenarios.items() if f.get("disk_syncs", {}).get("syncs")}
        if synced:
            lines += [f"The disk under PostgreSQL's WAL during each scenario (bench/disk.py: an 8 kB block synced "
                      f"every {disk.PERIOD} s on its filesystem, as each commit is; a stall is a sync over "
                      f"{disk.STALL * 1000:.0f} ms, and it holds up every request committing then):", "",
                      "| scenario | syncs | p50 ms | max ms | stalls | stalled ms |",
                      "| --- | ---: | ---: | ---: | ---: | ---: |"]
            lines += [f"| {name} | {d['syncs']} | {d['p50_ms']} | {d['max_ms']} | {d['stalls']} | {d['stalled_ms']} |"
                      for name, d in synced.items()]
            lines.append("")
    push = report.get("push")
    if push:
        stop = "stalled" if push.get("cut") == "stalled" else f"the {push['budget_seconds']} s budget ran out"
        took = (f"in {push['total_seconds']} s (budget {push['budget_seconds']} s)" if push["finished"] else
                f"when {stop} ({push['measured_seconds']} s after the trigger; "
                f"projected total {push['projected_total_seconds']} s)")
        lines += [f"Push (08:00 daily material): {push['delivered']:,} of {push['expected']:,} delivered "
                  f"({push['distinct_recipients']:,} distinct) {took} = {push['messages_per_second']} messages/s "
                  f"({push.get('ratio_to_baseline')} × baseline) with {push['senders']} senders; "
                  f"the job's fan-out into the outbox took {push['enqueue_seconds']} s.",
                  ""]
    if report.get("targets"):
        lines += ["| target | value | met |", "| --- | ---: | --- |"]
        lines += [f"| {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |" for t in report["targets"]]
        lines.append("")
    lines += ["| check | passed | detail |", "| --- | --- | --- |"]
    lines += [f"| {c['check']} | {'yes' if c['passed'] else '**NO**'} | {c['detail']} |" for c in report["checks"]]
    lines += ["", f"Total run time {report['total_seconds']} s."]
    return "\n".join(lines) + "\n"
