"""The soak's own arithmetic and HTTP: what decides its verdict is tested, not only run."""
import asyncio
import os
import re
import subprocess
import sys
import time

import pytest

from bench import services, soak


def calibration(rate, exhausted=(), passed=True):
    return {"rate": rate, "steps": {}, "exhausted": list(exhausted),
            "checks": [{"check": "quiz: x", "passed": passed, "detail": ""}]}


def test_the_mix_rate_is_one_sessions_requests_over_the_sum_of_its_steps_times():
    steps = {step: 400.0 for step in soak.MIX}
    assert soak.mix_rate(steps) == 400.0
    steps["quiz_submit"] = 100.0  # sent twice: 6/400 + 2/100 = 0.035 s for 8 requests
    assert soak.mix_rate(steps) == pytest.approx(8 / 0.035, abs=0.1)


def test_the_benchmark_rate_is_the_mean_around_the_soak_and_needs_every_check():
    both = soak.benchmark(calibration(300), calibration(260), 15)
    assert both["rate"] == 280 and both["passed"]
    assert [c["check"] for c in both["checks"]] == ["quiz: x", "quiz: x"]
    assert not soak.benchmark(calibration(300), calibration(260, passed=False), 15)["passed"]
    ran_out = soak.benchmark(calibration(300, exhausted=["quiz_start"]), calibration(260), 15)
    assert not ran_out["passed"] and ran_out["exhausted"] == ["before: quiz_start"]


@pytest.mark.parametrize("samples, steady", [
    ([(5, 400), (60, 410), (120, 412), (600, 420)], True),
    ([(5, 300), (60, 410), (600, 492)], True),       # growth before the first minute is warm-up
    ([(5, 400), (60, 410), (600, 493)], False),      # a fifth and more after it is a leak
    ([(5, 400), (60, 410)], True),                    # one minute: held to the sample after warm-up
    ([(5, 300), (60, 400)], False),
])
def test_memory_must_stay_within_a_fifth_of_the_first_minute_or_of_warm_up(samples, steady):
    assert soak.memory_steady(samples) is steady


def serve(answer):
    """A connection handler that reads a request and answers `answer`; returns (handler, received requests)."""
    received = []

    async def handle(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        received.append(head + await reader.readexactly(length))
        writer.write(answer)
        await writer.drain()
        writer.close()

    return handle, received


@pytest.mark.parametrize("answer, expected", [
    (b"HTTP/1.1 201 CREATED\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n"
     b"{\"id\": 7}", (201, '{"id": 7}')),
    (b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", (200, "")),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{\"cut\": ", ConnectionError),  # cut short
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ConnectionError),  # no length
    (b"", ConnectionError),                                                               # closed at once
])
def test_the_phones_http_reads_whole_answers_and_refuses_cut_ones(answer, expected):
    handle, received = serve(answer)

    async def scenario():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await soak.Http(f"http://127.0.0.1:{port}", timeout=5).request("POST", "/api/v1/x", "tok", {"a": 1})

    if expected is ConnectionError:
        with pytest.raises(ConnectionError):
            asyncio.run(scenario())
    else:
        assert asyncio.run(scenario()) == expected
        request = received[0].decode()
        assert request.startswith("POST /api/v1/x HTTP/1.1\r\n")
        assert "Authorization: Bearer tok\r\n" in request and request.endswith('\r\n\r\n{"a": 1}')


def test_workers_are_found_by_parent_and_a_dead_unreaped_one_counts_with_no_memory():
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(100):  # until the second has exited (a zombie: not yet waited for)
            if "State:\tZ" in open(f"/proc/{dead.pid}/status").read():
                break
            time.sleep(0.05)
        found = services.workers_rss(os.getpid())
        assert found[dead.pid] == 0 and found[alive.pid] > 0
    finally:
        alive.kill()
        alive.wait()
        dead.wait()
