"""`python -m fakewechat`: `make run` starts the fake knowing the demo member (--consent), as the demo seed does, and
the served fake keeps connections open between calls as WeChat's servers do."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import urllib3

from fakewechat.__main__ import build

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DATA = {"thing1": {"value": "第48周学习测验"}, "time2": {"value": "2026年11月29日 20:00"},
        "thing3": {"value": "请在截止前完成"}}


def send(client, openid):
    token = client.post("/cgi-bin/stable_token", json={"grant_type": "client_credential", "appid": "wx-demo-appid",
                                                       "secret": "demo-app-secret"}).get_json()["access_token"]
    return client.post(f"/cgi-bin/message/subscribe/send?access_token={token}",
                       json={"touser": openid, "template_id": "tmpl-quiz-open", "data": DATA}).get_json()["errcode"]


def test_a_consent_given_on_the_command_line_lets_that_many_messages_through():
    _, app = build(["--consent", "demo-member:tmpl-quiz-open:2"])
    client = app.test_client()
    assert [send(client, "demo-member") for _ in range(3)] == [0, 0, 43101]  # the third: no consent left
    assert send(client, "someone-else") == 40003                            # never used the mini-program


@pytest.mark.parametrize("bad", ["demo-member", "demo-member:tmpl-quiz-open", "demo-member:tmpl:two", ":tmpl:1"])
def test_a_malformed_consent_is_refused_at_start(bad, capsys):
    with pytest.raises(SystemExit) as exit_:
        build(["--consent", bad])
    assert exit_.value.code == 2 and "OPENID:TEMPLATE_ID:COUNT" in capsys.readouterr().err


def test_the_served_fake_keeps_a_connection_for_the_next_call_and_logs_no_secret(tmp_path):
    """WeChat's servers keep a connection open between calls, and so must the fake a sender's pool talks to:
    three calls on one pooled connection, and the log names the path, never the query string's secret."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = tmp_path / "fake.log"
    with open(log_path, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "fakewechat", "--port", str(port)], cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, block=True)
        token_url = "/cgi-bin/token?grant_type=client_credential&appid=wx-demo-appid&secret=demo-app-secret"
        deadline = time.monotonic() + 30
        while True:
            try:
                first = pool.request("GET", token_url, retries=False)
                break
            except urllib3.exceptions.HTTPError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        opened = pool.num_connections  # counting the refused tries while the fake started
        answers = [first] + [pool.request("GET", token_url, retries=False) for _ in range(2)]
        assert [json.loads(a.data)["expires_in"] for a in answers] == [7200] * 3
        assert [a.headers.get("Connection") for a in answers] == ["keep-alive"] * 3
        assert pool.num_connections == opened  # the connection that answered the first answered all three
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
    log = log_path.read_text()
    assert log.count("GET /cgi-bin/token 200") >= 3 and "demo-app-secret" not in log
