"""What the disk under PostgreSQL's WAL did while a scenario ran: a small write synced every PERIOD seconds, its times.

Every write the app acknowledges waits for PostgreSQL to sync its commit to the WAL (fdatasync, as
`wal_sync_method` is by default on Linux). A disk that stalls a sync for 200 ms stalls every request committing
then, and the ones queued behind them: that shows in a write scenario's p99 and not in a read's or the baseline's.
The probe syncs one 8 kB block on the WAL's filesystem every PERIOD seconds and counts the syncs that took longer
than STALL: the stalls PostgreSQL's commits met, measured beside the scenario.
"""
import os
import statistics
import tempfile
import threading
import time

PERIOD = 0.05  # 20 syncs a second, a sliver of PostgreSQL's: a stall of STALL or longer nearly always meets one
STALL = 0.05  # a sync slower than this is a stall: longer than a write scenario's whole p99 budget on a fast machine
BLOCK = b"\0" * 8192


def probe_dir(data_directory, candidates):
    """A directory on the same filesystem as `data_directory` that this process can write to (the first of
    `candidates`, then data_directory's parent), or None (None too when data_directory is unknown)."""
    if not data_directory:
        return None
    try:
        device = os.stat(data_directory).st_dev
    except OSError:
        return None
    for path in [*candidates, os.path.dirname(data_directory)]:
        try:
            if os.stat(path).st_dev == device and os.access(path, os.W_OK):
                return path
        except OSError:
            continue
    return None


class SyncProbe:
    """Sync a block every PERIOD seconds in `directory` between start() and stop(); stop() → the figures."""

    def __init__(self, directory, sync=os.fdatasync, period=PERIOD):
        self.directory, self.sync, self.period = directory, sync, period
        self.times, self._stop, self._thread = [], threading.Event(), None

    def start(self):
        self._thread = threading.Thread(target=self._run, name="sync-probe", daemon=True)
        self._thread.start()
        return self

    def _run(self):
        fd, path = tempfile.mkstemp(prefix="bench-sync-", dir=self.directory)
        try:
            while not self._stop.is_set():
                os.pwrite(fd, BLOCK, 0)
                started = time.perf_counter()
                self.sync(fd)
                self.times.append(time.perf_counter() - started)
                self._stop.wait(self.period)
        finally:
            os.close(fd)
            os.unlink(path)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return figures(self.times)


def figures(times):
    """{syncs, p50_ms, max_ms, stalls (syncs over STALL), stalled_ms (their time)} of sync times in seconds."""
    if not times:
        return {"syncs": 0}
    stalls = [t for t in times if t > STALL]
    return {"syncs": len(times), "p50_ms": round(statistics.median(times) * 1000, 2),
            "max_ms": round(max(times) * 1000, 1), "stalls": len(stalls), "stalled_ms": round(sum(stalls) * 1000)}
