"""Where a scenario's CPU goes: the machine's processes' CPU time read from /proc before and after, by kind."""
import os
import resource

KINDS = {"postgres": "postgresql", "redis-server": "redis"}
TICK = os.sysconf("SC_CLK_TCK")


def _kind(pid, gunicorn_pid):
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None, 0
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    ppid = int(fields[1])
    if gunicorn_pid and ppid == gunicorn_pid:
        return "workers", ticks
    return KINDS.get(comm.split(":")[0].strip(), "other"), ticks


def snapshot(gunicorn_pid):
    """{(pid, kind): CPU ticks} of every process now; the children this process waited for (wrk) as one."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    shot = {(0, "wrk"): round((children.ru_utime + children.ru_stime) * TICK)}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            kind, ticks = _kind(int(entry), gunicorn_pid)
            if kind is not None:
                shot[(int(entry), kind)] = ticks
    return shot


def spent(before, after, requests):
    """CPU milliseconds per request by kind between two snapshots (of processes that ended in between, only the
    children waited for are counted: wrk)."""
    totals = {}
    for key, ticks in after.items():
        totals[key[1]] = totals.get(key[1], 0) + ticks - before.get(key, 0)
    per = {kind: round(ticks / TICK * 1000 / max(requests, 1), 3) for kind, ticks in totals.items() if ticks}
    per["total"] = round(sum(per.values()), 3)
    return per
