"""Logging in from the mini-program with WeChat, as a phone does."""
from datetime import timedelta

from core import clock
from core.extensions import db
from members.models import AuthSession, Member


def test_a_bound_member_logs_in_and_sees_themself(client, org, fake_wechat):
    org.member_a.openid = "openid-zhangsan"
    db.session.commit()
    response = client.post("/api/v1/auth/wechat", json={"code": fake_wechat.login_code("openid-zhangsan")})
    assert response.status_code == 200
    body = response.get_json()
    assert body["member"]["name"] == "张三"
    assert "session_key" not in response.get_data(as_text=True)
    me = client.get("/api/v1/me", headers={"Authorization": "Bearer " + body["token"]})
    assert me.status_code == 200
    assert me.get_json()["branch"]["name"] == "甲一支部"
    assert me.get_json()["role"] == "member"


def test_an_unknown_openid_is_told_to_bind(client, org, fake_wechat):
    response = client.post("/api/v1/auth/wechat", json={"code": fake_wechat.login_code("stranger")})
    assert response.status_code == 403
    assert response.get_json()["code"] == "not_bound"
    assert db.session.scalar(db.select(db.func.count()).select_from(AuthSession)) == 0


def test_first_login_binds_by_phone(client, org, fake_wechat):
    response = client.post("/api/v1/auth/wechat", json={
        "code": fake_wechat.login_code("new-openid"), "phone_code": fake_wechat.phone_code(org.member_b.phone)})
    assert response.status_code == 200
    assert response.get_json()["member"]["id"] == org.member_b.id
    db.session.expire_all()
    assert db.session.get(Member, org.member_b.id).openid == "new-openid"
    again = client.post("/api/v1/auth/wechat", json={"code": fake_wechat.login_code("new-openid")})
    assert again.status_code == 200


def test_a_phone_outside_the_roster_is_refused(client, org, fake_wechat):
    response = client.post("/api/v1/auth/wechat", json={
        "code": fake_wechat.login_code("x-openid"), "phone_code": fake_wechat.phone_code("13700000000")})
    assert response.status_code == 403
    assert response.get_json()["code"] == "phone_not_in_roster"
    assert db.session.scalar(db.select(Member).where(Member.openid == "x-openid")) is None


def test_a_member_bound_elsewhere_is_not_taken_over(client, org, fake_wechat):
    org.member_a.openid = "original-openid"
    db.session.commit()
    response = client.post("/api/v1/auth/wechat", json={
        "code": fake_wechat.login_code("thief-openid"), "phone_code": fake_wechat.phone_code(org.member_a.phone)})
    assert response.status_code == 409
    assert response.get_json()["code"] == "already_bound"
    db.session.expire_all()
    assert db.session.get(Member, org.member_a.id).openid == "original-openid"


def test_an_inactive_member_cannot_log_in(client, org, fake_wechat):
    org.member_a.openid = "inactive-openid"
    org.member_a.active = False
    db.session.commit()
    response = client.post("/api/v1/auth/wechat", json={"code": fake_wechat.login_code("inactive-openid")})
    assert response.status_code == 403
    assert response.get_json()["code"] == "member_inactive"


def test_a_code_works_once(client, org, fake_wechat):
    org.member_a.openid = "once-openid"
    db.session.commit()
    code = fake_wechat.login_code("once-openid")
    assert client.post("/api/v1/auth/wechat", json={"code": code}).status_code == 200
    second = client.post("/api/v1/auth/wechat", json={"code": code})
    assert second.status_code == 400
    assert second.get_json()["code"] == "wechat_code_used"


def test_an_invalid_code_is_a_clear_error(client, org):
    response = client.post("/api/v1/auth/wechat", json={"code": "made-up"})
    assert response.status_code == 400
    assert response.get_json()["code"] == "wechat_code_invalid"
    assert response.get_json()["message"]


def test_wechat_down_is_a_503(client, org, fake_wechat):
    fake_wechat.fault("/sns/jscode2session", http_status=500, times=5)
    response = client.post("/api/v1/auth/wechat", json={"code": fake_wechat.login_code("any")})
    assert response.status_code == 503
    assert response.get_json()["code"] == "wechat_unavailable"


def test_bad_login_bodies_are_rejected(client, org):
    for body in ({}, {"code": ""}, {"code": 5}, {"code": "x", "role": "admin"}, {"code": "x" * 500}):
        response = client.post("/api/v1/auth/wechat", json=body)
        assert response.status_code == 422, body
        assert response.get_json()["code"] == "validation_error"
    not_json = client.post("/api/v1/auth/wechat", data="{", content_type="application/json")
    assert not_json.status_code in (400, 422)
    assert not_json.get_json()["code"] in ("bad_request", "validation_error")


def test_logout_revokes_the_token(client, login, org):
    headers = login(org.member_a)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_revoked"


def test_tampered_and_expired_tokens_are_refused(client, login, org, frozen):
    headers = login(org.member_a)
    token = headers["Authorization"][7:]
    tampered = {"Authorization": "Bearer " + token[:-2] + ("AA" if not token.endswith("AA") else "BB")}
    assert client.get("/api/v1/me", headers=tampered).get_json()["code"] == "token_invalid"
    assert client.get("/api/v1/me").status_code == 401
    frozen(clock.now() + timedelta(days=8))
    expired = client.get("/api/v1/me", headers=headers)
    assert expired.status_code == 401
    assert expired.get_json()["code"] == "token_expired"


def test_deactivation_revokes_sessions_and_roles_come_from_the_database(client, login, org):
    member_headers = login(org.member_a)
    secretary = login(org.secretary_a)
    assert client.get(f"/api/v1/branches/{org.branch_a.id}/members", headers=member_headers).status_code == 403
    # promoted in the database: the same token now carries the new role
    admin = login(org.admin_a)
    assert client.patch(f"/api/v1/members/{org.member_a.id}", json={"role": "secretary"},
                        headers=admin).status_code == 200
    assert client.get(f"/api/v1/branches/{org.branch_a.id}/members", headers=member_headers).status_code == 200
    response = client.patch(f"/api/v1/members/{org.member_a.id}", json={"active": False}, headers=secretary)
    assert response.status_code == 200
    assert client.get("/api/v1/me", headers=member_headers).status_code == 401


def test_login_is_rate_limited_per_ip(app, client, org, fake_wechat):
    app.config["RATELIMIT_LOGIN_IP"] = "3 per minute"
    try:
        codes = [client.post("/api/v1/auth/wechat", json={"code": "bad"}).status_code for _ in range(4)]
    finally:
        app.config["RATELIMIT_LOGIN_IP"] = "30 per minute"
    assert codes[:3] == [400, 400, 400]
    assert codes[3] == 429


def test_login_is_rate_limited_per_openid(app, client, org, fake_wechat):
    org.member_a.openid = "busy-openid"
    db.session.commit()
    app.config["RATELIMIT_LOGIN_OPENID"] = "2 per minute"
    try:
        codes = [client.post("/api/v1/auth/wechat", json={"code": fake_wechat.login_code("busy-openid")}).status_code
                 for _ in range(3)]
    finally:
        app.config["RATELIMIT_LOGIN_OPENID"] = "10 per minute"
    assert codes == [200, 200, 429]
