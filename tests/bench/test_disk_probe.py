"""The disk probe beside each scenario: it syncs on the WAL's filesystem and counts the syncs that stalled."""
import os
import time

from bench import disk, report


def test_a_sync_over_the_stall_limit_is_counted_with_its_time():
    figures = disk.figures([0.001, 0.002, 0.2, 0.003, 0.06])
    assert figures == {"syncs": 5, "p50_ms": 3.0, "max_ms": 200.0, "stalls": 2, "stalled_ms": 260}
    assert disk.figures([]) == {"syncs": 0}


def test_the_probe_syncs_a_real_file_until_stopped_and_leaves_nothing(tmp_path):
    synced = []

    def sync(fd):  # the real fdatasync, with one stall made to happen
        os.fdatasync(fd)
        synced.append(fd)
        if len(synced) == 2:
            time.sleep(disk.STALL * 2)

    probe = disk.SyncProbe(str(tmp_path), sync=sync, period=0.01).start()
    time.sleep(0.4)
    figures = probe.stop()
    assert figures["syncs"] == len(synced) >= 3
    assert figures["stalls"] >= 1 and figures["max_ms"] >= disk.STALL * 2000  # this disk may stall on its own too
    assert list(tmp_path.iterdir()) == []


def test_the_probe_writes_on_the_data_directorys_filesystem_only(tmp_path):
    data = tmp_path / "pg" / "main"
    data.mkdir(parents=True)
    assert disk.probe_dir(str(data), [str(tmp_path)]) == str(tmp_path)
    assert disk.probe_dir(str(data), ["/proc"]) == str(tmp_path / "pg")  # /proc is another filesystem
    assert disk.probe_dir(str(tmp_path / "missing"), [str(tmp_path)]) is None
    assert disk.probe_dir(None, [str(tmp_path)]) is None  # the bench's role could not read it


def test_the_summary_shows_each_scenarios_syncs():
    scenario = {"rps": 100.0, "rps_ratio": 0.1, "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "p99_ratio": 1.0,
                "statuses": {"200": 5}, "disk_syncs": {"syncs": 75, "p50_ms": 0.15, "max_ms": 205.0, "stalls": 3,
                                                        "stalled_ms": 412}}
    text = report.summary_markdown({"started_at": "x", "machine": {}, "scenarios": {"quiz_submit": scenario},
                                    "settings": {"wrk_threads": 2, "connections": 8, "duration_s": 15,
                                                 "gunicorn_workers": 4}, "checks": [],
                                    "total_seconds": 1})
    assert "| quiz_submit | 75 | 0.15 | 205.0 | 3 | 412 |" in text
