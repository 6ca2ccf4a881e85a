"""Tokens: tampered, foreign, expired and revoked ones are refused. Secrets never reach a response or a log line.

tests/members/test_login.py covers the login flow itself; these add the hostile tokens and the secret scan.
"""
import logging
from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer

from core import clock, wechat
from core.extensions import db
from members.auth import SALT, issue_token
from tests.hardening.conftest import secret_values
from tests.notifications.helpers import consent, queue, send_all


def _token(org):
    token, _ = issue_token(org.member_a)
    db.session.commit()
    return token


def _me(client, token):
    return client.get("/api/v1/me", headers={"Authorization": "Bearer " + token})


def _flip(text, at):
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]


@pytest.mark.parametrize("mangle", [
    lambda t: _flip(t, len(t) - 3),                      # signature changed
    lambda t: _flip(t, 5),                               # payload changed, signature kept
    lambda t: t + "x",
    lambda t: t.split(".")[0],                           # signature dropped
    lambda t: "",
    lambda t: "null",
    lambda t: "a" * 5000,
], ids=["signature", "payload", "suffix", "unsigned", "empty", "null", "huge"])
def test_a_tampered_token_is_refused(client, org, mangle):
    response = _me(client, mangle(_token(org)))
    assert response.status_code == 401
    assert response.get_json()["code"] in ("token_invalid", "unauthorized")


def test_a_token_signed_with_another_key_or_for_another_session_is_refused(app, client, org):
    """Forged claims fail: a foreign key, or a real key naming a session that does not exist."""
    forged = URLSafeSerializer("not-our-key", salt=SALT).dumps({"sid": "x" * 32, "mid": org.admin_a.id})
    assert _me(client, forged).status_code == 401
    guessed = URLSafeSerializer(app.config["SECRET_KEY"], salt=SALT).dumps({"sid": "0" * 32, "mid": org.admin_a.id})
    assert _me(client, guessed).get_json()["code"] == "token_invalid"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "bearer abc", "Token abc"])
def test_a_malformed_authorization_header_is_401(client, org, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.get_json()["message"]


def test_an_expired_token_is_refused_everywhere(app, client, org, frozen):
    """Past its TTL a token opens nothing, not just /me."""
    frozen("2026-11-23 08:00")
    token = _token(org)
    frozen(clock.now().astimezone(clock.TZ) + timedelta(seconds=app.config["TOKEN_TTL_SECONDS"] + 1))
    for url in ("/api/v1/me", "/api/v1/materials/today", "/api/v1/me/inbox", "/api/v1/me/quota"):
        response = client.get(url, headers={"Authorization": "Bearer " + token})
        assert response.status_code == 401 and response.get_json()["code"] == "token_expired", url


def test_a_token_is_revoked_by_logout_and_by_deactivation(client, org, login):
    """Logout kills that token; deactivating a member kills every token they hold."""
    token = _token(org)
    headers = {"Authorization": "Bearer " + token}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200
    assert _me(client, token).get_json()["code"] == "token_revoked"
    other = _token(org)
    assert client.patch(f"/api/v1/members/{org.member_a.id}", headers=login(org.secretary_a),
                        json={"active": False}).status_code == 200
    assert _me(client, other).status_code == 401


def test_a_role_change_takes_effect_on_the_next_request(client, org, login):
    """Roles are read from the database each request, so a demoted secretary loses access at once."""
    headers = login(org.secretary_a)
    url = f"/api/v1/branches/{org.branch_a.id}/members"
    assert client.get(url, headers=headers).status_code == 200
    assert client.patch(f"/api/v1/members/{org.secretary_a.id}", headers=login(org.admin_a),
                        json={"role": "member"}).status_code == 200
    assert client.get(url, headers=headers).status_code == 403


def test_secrets_never_reach_a_response_or_a_log_line(app, client, org, login, fake_wechat, caplog, monkeypatch,
                                                      frozen):
    """Over login, a subscribe push, a robot digest and failing calls, no secret shows in a body or a log line."""
    frozen("2026-11-23 10:00")
    seen = {"session_keys": []}
    real = wechat.code2session

    def spy(code):
        result = real(code)
        seen["session_keys"].append(result["session_key"])
        return result

    monkeypatch.setattr(wechat, "code2session", spy)
    caplog.set_level(logging.DEBUG)
    bodies = []
    headers = login(org.member_a)
    bodies.append(client.get("/api/v1/me", headers=headers).data)
    template = app.config["WECHAT_TEMPLATES"]["quiz_open"]["template_id"] if "WECHAT_TEMPLATES" in app.config \
        else "tmpl-quiz-open"
    bodies.append(consent(client, headers, template).data)
    fake_wechat.grant_consent(f"openid-{org.member_a.id}", template)
    queue(org.member_a)
    fake_wechat.fault("/cgi-bin/message/subscribe/send", http_status=500, times=1)
    send_all()
    send_all()
    webhook_key = "hardening-secret-robot-key"
    fake_wechat.add_webhook(webhook_key)
    secretary = login(org.secretary_a)
    bodies.append(client.put(f"/api/v1/branches/{org.branch_a.id}/wecom-robot", headers=secretary,
                             json={"webhook_key": webhook_key}).data)
    bodies.append(client.get(f"/api/v1/branches/{org.branch_a.id}/wecom-robot", headers=secretary).data)
    bodies.append(client.post(f"/api/v1/branches/{org.branch_a.id}/reminders", headers=secretary,
                              json={"kind": "reading"}).data)
    send_all()
    bodies.append(client.post("/api/v1/auth/wechat", json={"code": "forged-code"}).data)
    with app.app_context():
        cached = wechat._cached_token()
    tokens = [cached] if isinstance(cached, str) else []
    secrets = secret_values(app) + [webhook_key] + seen["session_keys"] + tokens
    assert seen["session_keys"], "the flow should have exchanged at least one login code"
    log_text = "\n".join(r.getMessage() + (str(r.exc_info[1]) if r.exc_info else "") for r in caplog.records)
    assert log_text, "the flow should have logged request lines"
    for secret in secrets:
        assert secret not in log_text, f"secret {secret[:4]}… in a log line"
        for body in bodies:
            assert secret.encode() not in body, f"secret {secret[:4]}… in a response"
