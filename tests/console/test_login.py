"""Console login: passwords (argon2), lockout, rate limit, CSRF, session cookie, logout, the CLI."""
from datetime import timedelta

from console.models import ConsoleAccount
from core import clock
from core.extensions import db
from tests.console.conftest import PASSWORD, Desk


def test_secretary_logs_in_and_lands_on_their_branch(app, org, account):
    account(org.secretary_a, "qian")
    desk = Desk(app.test_client())
    response = desk.login("qian")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = desk.client.get("/console/", follow_redirects=True)
    assert page.status_code == 200
    assert "甲一支部" in page.get_data(as_text=True)


def test_password_is_stored_as_an_argon2_hash(org, account):
    account(org.secretary_a, "qian")
    stored = db.session.scalar(db.select(ConsoleAccount).where(ConsoleAccount.username == "qian"))
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash


def test_wrong_password_and_unknown_user_get_the_same_answer(app, org, account):
    account(org.secretary_a, "qian")
    desk = Desk(app.test_client())
    wrong = desk.login("qian", "Wrong-password-1")
    unknown = desk.login("nobody", "Wrong-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.get_data(as_text=True)
    assert "用户名或密码错误" in unknown.get_data(as_text=True)


def test_five_failures_lock_the_account_for_fifteen_minutes(app, org, account, frozen):
    frozen("2026-11-23 09:00")
    account(org.secretary_a, "qian")
    desk = Desk(app.test_client())
    for _ in range(5):
        assert desk.login("qian", "Wrong-password-1").status_code == 401
    locked = desk.login("qian")
    assert locked.status_code == 423
    assert "锁定" in locked.get_data(as_text=True)
    frozen("2026-11-23 09:16")
    assert desk.login("qian").status_code == 302


def test_login_is_rate_limited_per_address(app, org, account):
    app.config["CONSOLE_LOGIN_RATE"] = "3 per minute"
    try:
        desk = Desk(app.test_client())
        codes = [desk.login("nobody", "x").status_code for _ in range(4)]
    finally:
        app.config["CONSOLE_LOGIN_RATE"] = "10 per minute"
    assert codes[:3] == [401, 401, 401] and codes[3] == 429


def test_a_form_without_the_csrf_token_is_refused(app, org, desk):
    d = desk(org.secretary_a)
    response = d.client.post(f"/console/branches/{org.branch_a.id}/remind", data={"kind": "reading"})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)


def test_the_json_api_stays_free_of_csrf(client, org, login):
    response = client.post("/api/v1/auth/logout", headers=login(org.member_a))
    assert response.status_code == 200


def test_logout_ends_the_session(org, desk):
    d = desk(org.secretary_a)
    assert d.get(f"/console/branches/{org.branch_a.id}").status_code == 200
    assert d.post("/console/logout").status_code == 302
    after = d.client.get(f"/console/branches/{org.branch_a.id}")
    assert after.status_code == 302 and "/console/login" in after.headers["Location"]


def test_a_new_password_ends_old_sessions(org, desk, account):
    d = desk(org.secretary_a)
    account(org.secretary_a, password="Another-pass-77")
    assert d.client.get(f"/console/branches/{org.branch_a.id}").status_code == 302


def test_a_deactivated_secretary_is_logged_out(org, desk):
    d = desk(org.secretary_a)
    org.secretary_a.active = False
    db.session.commit()
    assert d.client.get(f"/console/branches/{org.branch_a.id}").status_code == 302
    assert d.login(f"user{org.secretary_a.id}").status_code == 403


def test_sessions_expire(org, desk, frozen):
    frozen("2026-11-23 09:00")
    d = desk(org.secretary_a)
    clock.freeze(clock.now() + timedelta(hours=9))
    assert d.client.get(f"/console/branches/{org.branch_a.id}").status_code == 302


def test_cli_sets_a_password_for_secretaries_only(app, org):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["console", "set-password", "--phone", org.secretary_a.phone, "--username", "qian",
                             "--password", "Strong-pass-2026"])
    assert ok.exit_code == 0, ok.output
    member = runner.invoke(args=["console", "set-password", "--phone", org.member_a.phone, "--username", "zhang",
                                 "--password", "Strong-pass-2026"])
    assert member.exit_code != 0 and "只有支部书记和党委管理员" in member.output
    weak = runner.invoke(args=["console", "set-password", "--phone", org.admin_a.phone, "--username", "wuguanli",
                               "--password", "12345678901"])
    assert weak.exit_code != 0 and "字母和数字" in weak.output
    taken = runner.invoke(args=["console", "set-password", "--phone", org.admin_a.phone, "--username", "qian",
                                "--password", "Strong-pass-2026"])
    assert taken.exit_code != 0 and "已被" in taken.output


def test_pages_need_a_login(client, org):
    response = client.get(f"/console/branches/{org.branch_a.id}")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_a_cookie_saved_before_logout_is_dead_after_it(org, desk):
    """#15.4: logout ends the session on the server; the saved cookie replayed lands on the login page."""
    from sqlalchemy import func, select

    from notifications.models import Notification

    d = desk(org.secretary_a)
    saved = d.client.get_cookie("bs_console").value
    token = d.token
    assert d.post("/console/logout").status_code == 302
    replay = Desk(d.client.application.test_client())
    replay.client.set_cookie("bs_console", saved)
    page = replay.client.get(f"/console/branches/{org.branch_a.id}")
    assert page.status_code == 302 and "/console/login" in page.headers["Location"]
    remind = replay.client.post(f"/console/branches/{org.branch_a.id}/remind",
                                data={"csrf_token": token, "kind": "quota"})
    assert remind.status_code in (302, 400) and "/console/branches" not in remind.headers.get("Location", "")
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
