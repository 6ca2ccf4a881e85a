"""The shipped nginx config in front of gunicorn with the shipped config, for real: Debian's nginx on loopback ports
with a certificate made here, gunicorn with deploy/gunicorn.conf.py, the app as production runs it (on the suite's
PostgreSQL + Redis in the second pass). Clients connect from 127.0.0.2 and 127.0.0.3, two loopback addresses.
"""
import gzip
import http.client
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.conftest import DEPLOY, ROOT, free_port, need, on_postgres

SITE = os.path.join(DEPLOY, "nginx", "branch-study.conf")


def _site_for_test(text, tmp, ports):
    """The shipped site with only what must differ here replaced: ports, certificate, code folder, log files."""
    swaps = {
        "listen 80;": f"listen 127.0.0.1:{ports['http']};", "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{ports['https']} ssl http2;", "listen [::]:443 ssl http2;": "",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{ports['gunicorn']};",
        "/etc/ssl/branch-study/fullchain.pem": f"{tmp}/cert.pem", "/etc/ssl/branch-study/privkey.pem": f"{tmp}/key.pem",
        "/opt/branch-study/": ROOT + "/",
        "/var/log/nginx/branch-study.access.log": f"{tmp}/access.log",
        "/var/log/nginx/branch-study.error.log": f"{tmp}/site-error.log",
    }
    for old, new in swaps.items():
        assert old in text, f"the shipped nginx config no longer has {old!r}: update this test with it"
        text = text.replace(old, new)
    return text


def _nginx_conf(tmp, site):
    temp = "\n".join(f"    {kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                          "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's private temp folder
    return (f"{user}worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\n"
            f"events {{ worker_connections 128; }}\nhttp {{\n    include /etc/nginx/mime.types;\n{temp}\n"
            f"    access_log {tmp}/main-access.log;\n{site}\n}}\n")


def _wait_until_up(port, process, log_path, scheme="http"):
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}/healthz", timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"not up on {port}:\n{open(log_path).read()[-3000:]}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def stack(app, fake_wechat, tmp_path_factory):
    """nginx (TLS on a loopback port) → gunicorn (the shipped config, JSON logs, shared metrics folder) → the app."""
    nginx, openssl = need("nginx"), need("openssl")
    tmp = tmp_path_factory.mktemp("proxy")
    ports = {"http": free_port(), "https": free_port(), "gunicorn": free_port()}
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", f"{tmp}/key.pem", "-out", f"{tmp}/cert.pem", "-subj", "/CN=study.example.com",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:study.example.com"], check=True, capture_output=True)
    (tmp / "metrics").mkdir()
    production = on_postgres()  # production refuses SQLite and the embedded Redis
    env = {**os.environ, "APP_ENV": "production" if production else "development",
           "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "proxy-test-secret-" + "s" * 32,
           "WECHAT_APPID": app.config["WECHAT_APPID"], "WECHAT_SECRET": app.config["WECHAT_SECRET"],
           "WECHAT_API_BASE": fake_wechat.base_url, "WECOM_API_BASE": fake_wechat.base_url,
           "PROXY_HOPS": "1", "LOG_FORMAT": "json", "RATELIMIT_LOGIN_IP": "3 per minute",
           "GUNICORN_BIND": f"127.0.0.1:{ports['gunicorn']}",
           # Each process has its own embedded Redis on SQLite, so one worker keeps the limits in one place there.
           "GUNICORN_WORKERS": "2" if production else "1",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"), "PYTHONPATH": ROOT}
    env.pop("REDIS_URL", None)
    if app.config["REDIS_URL"]:
        env["REDIS_URL"] = app.config["REDIS_URL"]
    gunicorn_log = tmp / "gunicorn.log"
    gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", os.path.join(DEPLOY, "gunicorn.conf.py"),
                                 "wsgi:app"], cwd=ROOT, env=env, stdout=open(gunicorn_log, "w"),
                                stderr=subprocess.STDOUT)
    _wait_until_up(ports["gunicorn"], gunicorn, gunicorn_log)
    conf = tmp / "nginx.conf"
    conf.write_text(_nginx_conf(tmp, _site_for_test(open(SITE, encoding="utf-8").read(), tmp, ports)))
    check = subprocess.run([nginx, "-t", "-p", str(tmp), "-c", str(conf), "-e", f"{tmp}/error.log"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proxy = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(conf), "-e", f"{tmp}/error.log", "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=open(tmp / "nginx.out", "w"))
    try:
        deadline = time.monotonic() + 20
        while not _listening(ports["https"]):
            assert proxy.poll() is None and time.monotonic() < deadline, (tmp / "nginx.out").read_text()
            time.sleep(0.1)
        yield {"ports": ports, "tmp": tmp, "gunicorn_log": gunicorn_log}
    finally:
        proxy.terminate()
        gunicorn.terminate()
        proxy.wait(timeout=20)
        gunicorn.wait(timeout=60)


def _listening(port):
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _https(stack, method, path, source="127.0.0.2", body=None, headers=None):
    """One HTTPS request through nginx from a loopback address, verifying the test's certificate."""
    context = ssl.create_default_context(cafile=str(stack["tmp"] / "cert.pem"))
    conn = http.client.HTTPSConnection("127.0.0.1", stack["ports"]["https"], context=context,
                                       source_address=(source, 0), timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _log_lines(stack):
    lines = []
    for raw in stack["gunicorn_log"].read_text(encoding="utf-8").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def test_https_passes_through_and_plain_http_is_sent_to_https(stack):
    status, headers, body = _https(stack, "GET", "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert "max-age" in headers["Strict-Transport-Security"]
    conn = http.client.HTTPConnection("127.0.0.1", stack["ports"]["http"], timeout=10)
    conn.request("GET", "/api/v1/me")
    redirect = conn.getresponse()
    assert redirect.status == 301 and redirect.getheader("Location").startswith("https://")


def test_each_log_line_of_a_request_carries_the_request_id_nginx_made(stack):
    status, headers, body = _https(stack, "GET", "/api/v1/me", headers={"X-Request-ID": "client-made-this"})
    request_id = headers["X-Request-ID"]
    assert status == 401 and request_id != "client-made-this" and len(request_id) == 32  # nginx's $request_id
    assert json.loads(body)["details"]["request_id"] == request_id
    time.sleep(0.3)  # the access line is written after the response
    mine = [line for line in _log_lines(stack) if line.get("request_id") == request_id]
    assert {line["logger"] for line in mine} >= {"branch_study.request", "gunicorn.access"}, mine


def test_logins_from_two_addresses_have_separate_limits_and_a_forged_forwarded_for_changes_nothing(stack):
    login = {"Content-Type": "application/json"}
    body = json.dumps({"code": "not-a-real-code"})
    # Each request claims to come from somewhere else; the app must still see 127.0.0.2 and count it there.
    answers = [_https(stack, "POST", "/api/v1/auth/wechat", "127.0.0.2", body,
                      {**login, "X-Forwarded-For": f"10.9.8.{i}"})[0] for i in range(4)]
    assert all(status != 429 for status in answers[:3]) and answers[3] == 429, answers
    assert _https(stack, "POST", "/api/v1/auth/wechat", "127.0.0.3", body, login)[0] != 429
    time.sleep(0.3)
    seen = [line["message"] for line in _log_lines(stack)
            if line.get("logger") == "branch_study.request" and "route=/api/v1/auth/wechat" in line["message"]]
    addresses = {part for message in seen for part in message.split() if part.startswith("ip=")}
    assert addresses == {"ip=127.0.0.2", "ip=127.0.0.3"}, seen


def test_an_upload_over_max_upload_bytes_is_refused_by_nginx_in_the_error_shape(stack):
    limit = 5 * 1024 * 1024
    headers = {"Content-Type": "text/csv"}
    status, response_headers, body = _https(stack, "POST", "/api/v1/branches/1/roster", body=b"x" * (limit + 1),
                                            headers=headers)
    assert status == 413 and response_headers["Content-Type"].startswith("application/json")
    error = json.loads(body)
    assert error["code"] == "payload_too_large" and error["message"] == "上传内容过大"
    assert error["details"]["request_id"] == response_headers["X-Request-ID"]
    # Just under the limit reaches the app, which asks for a login.
    status, _, body = _https(stack, "POST", "/api/v1/branches/1/roster", body=b"x" * (limit - 1024), headers=headers)
    assert status == 401 and json.loads(body)["code"] == "unauthorized"


def test_an_upload_answered_before_it_is_read_gets_its_answer_not_a_reset(stack):
    """The app answers 401 to an upload before reading it; the worker must still read the body before it closes the
    connection, or the close resets it and the sender of the rest (nginx) gets no answer (nginx's 502). The body's
    rest is sent after the app could have answered, so the race nginx sometimes lost is lost here every time."""
    import socket

    body = b"x" * (4 * 1024 * 1024)
    head = (f"POST /api/v1/branches/1/roster HTTP/1.1\r\nHost: study.example.com\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", stack["ports"]["gunicorn"]), timeout=30) as s:
        s.sendall(head + body[:65536])
        time.sleep(0.5)
        s.sendall(body[65536:])
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"401" and json.loads(rest.partition(b"\r\n\r\n")[2])["code"] == "unauthorized"


def test_the_console_files_come_from_disk_and_json_is_gzipped(stack):
    status, headers, body = _https(stack, "GET", "/console/static/console.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css") and "X-Request-ID" not in headers
    with open(os.path.join(ROOT, "console", "static", "console.css"), "rb") as f:
        assert body == f.read() or gzip.decompress(body) == f.read()
    status, headers, body = _https(stack, "GET", "/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(body))["info"]["version"] == "v1"


def _metrics(stack):
    with urllib.request.urlopen(f"http://127.0.0.1:{stack['ports']['gunicorn']}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_are_not_served_through_the_proxy_and_add_up_every_worker(stack):
    assert _https(stack, "GET", "/metrics")[0] == 404
    key = ("branch_study_http_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "200")))
    before = _metrics(stack).get(key, 0)
    for _ in range(6):
        assert _https(stack, "GET", "/healthz")[0] == 200
    assert _metrics(stack)[key] == before + 6
