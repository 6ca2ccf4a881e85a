"""Request ids in the header, the error body and the log lines; proxies trusted only when configured; /metrics."""
import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.requestlog import JsonFormatter
from tests.console.conftest import account, desk  # noqa: F401  (fixtures)
from tests.notifications.helpers import consent, queue, send_all

QUIZ_OPEN = "tmpl-quiz-open"


@pytest.fixture
def proxied(app, monkeypatch):
    """The suite's app as create_app makes it with PROXY_HOPS=1 (a second app would rebind the shared limiter)."""
    from core.app import trust_proxies

    monkeypatch.setitem(app.config, "PROXY_HOPS", 1)
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)  # restored after the test
    trust_proxies(app)
    return app.test_client()


def _request_lines(caplog):
    return [r for r in caplog.records if r.name == "branch_study.request"]


def test_an_error_carries_its_request_id_in_the_header_the_body_and_the_log_line(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32 and response.get_json()["details"]["request_id"] == request_id
    [line] = _request_lines(caplog)
    assert line.request_id == request_id and "status=401" in line.getMessage()


def test_without_a_proxy_a_clients_request_id_and_forwarded_address_are_ignored(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.get("/healthz", headers={"X-Request-ID": "forged-id", "X-Forwarded-For": "9.9.9.9"},
                          environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert response.headers["X-Request-ID"] != "forged-id"
    [line] = _request_lines(caplog)
    assert "ip=127.0.0.2 " in line.getMessage()


def test_behind_one_trusted_proxy_its_request_id_and_the_address_it_appended_are_used(proxied, caplog):
    caplog.set_level(logging.INFO)
    # The client wrote 9.9.9.9 itself; the proxy appended the address it saw the client connect from.
    response = proxied.get("/healthz", headers={"X-Request-ID": "nginx-7f3a", "X-Forwarded-For": "9.9.9.9, 10.1.2.3"},
                           environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.headers["X-Request-ID"] == "nginx-7f3a"
    [line] = _request_lines(caplog)
    assert "ip=10.1.2.3 " in line.getMessage() and line.request_id == "nginx-7f3a"
    # A request id that is not a plain token is replaced, even from the proxy.
    assert proxied.get("/healthz", headers={"X-Request-ID": "a b;<c>"}).headers["X-Request-ID"] != "a b;<c>"


def test_json_log_lines_are_one_object_each_with_the_request_id():
    record = logging.LogRecord("branch_study.request", logging.INFO, __file__, 1, "member=%s status=%s",
                               ("-", 200), None)
    record.request_id = "abc123"
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc123" and line["message"] == "member=- status=200" and line["level"] == "INFO"


def _samples(client):
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def _value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_parse_and_move_with_requests_and_sends(client, org, login, fake_wechat):
    headers = login(org.member_a)
    consent(client, headers, QUIZ_OPEN)
    fake_wechat.grant_consent(org.member_a.openid, QUIZ_OPEN)
    client.put("/api/v1/me/notification-preferences", headers=headers, json={"quiet_hours_enabled": False})
    queue(org.member_a)
    before = _samples(client)
    assert _value(before, "branch_study_outbox_rows", status="pending") == 1

    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert send_all().get("sent") == 1

    after = _samples(client)
    me = {"route": "/api/v1/me", "method": "GET", "status": "200"}
    assert _value(after, "branch_study_http_requests_total", **me) == _value(
        before, "branch_study_http_requests_total", **me) + 1
    assert _value(after, "branch_study_http_request_duration_seconds_count", **me) >= 1
    sent = {"path": "/cgi-bin/message/subscribe/send", "errcode": "0"}
    assert _value(after, "branch_study_wechat_calls_total", **sent) == _value(
        before, "branch_study_wechat_calls_total", **sent) + 1
    assert _value(after, "branch_study_outbox_rows", status="sent") == 1
    assert _value(after, "branch_study_outbox_rows", status="pending") == 0
    assert ("branch_study_outbox_rows", (("status", "dead"),)) in after  # dead letters: zero, but present


def test_the_scheduler_reports_each_jobs_last_successful_run(app, client, ctx):
    import time

    from notifications.scheduler import Scheduler

    started = time.time()
    Scheduler(app).tick("quiz_results")  # every 5 minutes, so always due within its catch-up hour
    seen = _value(_samples(client), "branch_study_scheduler_last_success_timestamp_seconds", job="quiz_results")
    assert started <= seen <= time.time()


def test_the_audit_trail_records_the_address_the_trusted_proxy_saw_and_the_request_id(proxied, org, ctx):
    from core.audit import AuditEntry
    from core.extensions import db
    from members.auth import issue_token

    token, _ = issue_token(org.secretary_a)
    branch_id = org.branch_a.id
    db.session.commit()
    response = proxied.put(f"/api/v1/branches/{branch_id}/wecom-robot", json={"webhook_key": "k" * 20},
                           headers={"Authorization": "Bearer " + token, "X-Forwarded-For": "9.9.9.9, 10.1.2.3",
                                    "X-Request-ID": "nginx-audit-1"})
    assert response.status_code == 200, response.get_json()
    entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "notifications.robot_set")).one()
    assert entry.details["ip"] == "10.1.2.3" and entry.details["request_id"] == "nginx-audit-1"


def test_the_consoles_error_page_shows_the_request_id_of_its_response(org, desk):
    response = desk(org.secretary_a).get("/console/quizzes/999999")
    assert response.status_code == 404
    assert f"请求编号 {response.headers['X-Request-ID']}" in response.get_data(as_text=True)


def test_two_requests_in_one_kept_app_context_get_two_ids(client, ctx):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
