"""A throwaway PostgreSQL cluster and Redis server on free ports, for `make soak` (faults and the soak).

The machine's shared services on 5432/6379 are never touched: every process here is started, stopped and killed
by its own pid or its own data directory.
"""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_postgres(argv):
    if os.geteuid() == 0:  # initdb and pg_ctl refuse to run as root
        argv = ["runuser", "-u", "postgres", "--"] + argv
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120)


class Postgres:
    """A private cluster: initdb into a temp dir, start/stop/restart with pg_ctl on its own port."""

    def __init__(self, durable=False):
        self.durable = durable  # False: fsync=off, for fault tests that restart it; True: as a production cluster
        self.dir = tempfile.mkdtemp(prefix="bs-pg-")
        os.chmod(self.dir, 0o777)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        _as_postgres([_pg_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8"])
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args):
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=100"
        if self.durable:
            # As a production server would be set: the working set in PostgreSQL's own buffers (this VM reclaims
            # the page cache under a long run), and checkpoints spread rather than every 5 minutes.
            options += " -c shared_buffers=2GB -c max_wal_size=4GB -c checkpoint_timeout=15min"
        else:
            options += " -c fsync=off"
        return _as_postgres([_pg_bin("pg_ctl"), "-D", self.data, "-o", options, "-l",
                             os.path.join(self.dir, "log"), "-w", *args])

    def start(self):
        self._ctl("start")

    def stop(self):
        self._ctl("stop", "-m", "fast")

    def destroy(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A private Redis with no persistence: a restart comes back empty, as after a crash."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bs-redis-")
        self.port = free_port()
        self.pidfile = os.path.join(self.dir, "redis.pid")
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        subprocess.run(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--daemonize", "yes", "--pidfile", self.pidfile, "--dir", self.dir,
                        "--logfile", os.path.join(self.dir, "log")], check=True, timeout=30)
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                              text=True).stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def stop(self):
        try:
            pid = int(open(self.pidfile).read())
        except (OSError, ValueError):
            return
        os.kill(pid, signal.SIGKILL)  # a crash, not a graceful shutdown
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        try:
            os.remove(self.pidfile)
        except OSError:
            pass

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def workers_rss(master):
    """{pid: resident MB} of the gunicorn master's workers."""
    found = {}
    for pid in os.listdir("/proc"):
        try:
            status = open(f"/proc/{pid}/status").read()
        except OSError:  # not a process, or gone
            continue
        if pid.isdigit() and re.search(rf"^PPid:\s+{master}$", status, re.MULTILINE):
            rss = re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE)  # none: a worker dead, not yet reaped
            found[int(pid)] = int(rss.group(1)) // 1024 if rss else 0
    return found
