"""The desk pages of #18 through the console's forms: exchanges, quizzes, members, accounts; each answer and what
the database then holds, and the audit entry of every action."""
from sqlalchemy import func, select

from core.audit import AuditEntry
from core.extensions import db
from members.models import AuthSession, Member
from tests import factories
from tests.console.conftest import PASSWORD, Desk


def _audited(action, target_id=None):
    stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == str(target_id))
    return db.session.scalar(stmt)


# --- exchanges ---------------------------------------------------------------------------------------

def _propose(client, login, who, title="Kubernetes 运维经验分享", day="2026-11-26", speaker=None):
    """A member proposes their own talk (pending); a manager creates one with another member as speaker (approved:
    nobody approves their own talk)."""
    response = client.post("/api/v1/exchanges", headers=login(who), json={
        "title": title, "starts_at": f"{day}T14:00:00", "ends_at": f"{day}T16:00:00", "place": "三楼会议室",
        "speaker_ids": [(speaker or who).id]})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()["id"]


def test_secretary_creates_an_exchange_from_the_form(org, desk, frozen):
    from quotas.models import Exchange

    frozen("2026-11-23 10:00")
    d = desk(org.secretary_a)
    response = d.post("/console/exchanges", {"branch_id": org.branch_a.id, "title": "微服务拆分实践",
        "day": "2026-11-27",
                                             "start": "14:00", "end": "15:30", "place": "二楼会议室",
                                             "speaker_ids": [str(org.member_a.id)]})
    assert response.status_code == 302, response.get_data(as_text=True)
    exchange = db.session.scalar(select(Exchange).where(Exchange.title == "微服务拆分实践"))
    assert exchange.status == "approved" and exchange.branch_id == org.branch_a.id
    assert [s.member_id for s in exchange.speakers] == [org.member_a.id]
    page = d.get("/console/exchanges").get_data(as_text=True)
    assert "微服务拆分实践" in page and "已安排" in page
    assert _audited("quota.exchange_create", exchange.id) == 1


def test_a_bad_exchange_form_names_the_field_and_writes_nothing(org, desk, frozen):
    from quotas.models import Exchange

    frozen("2026-11-23 10:00")
    d = desk(org.secretary_a)
    response = d.post("/console/exchanges", {"branch_id": org.branch_a.id, "title": "时间颠倒", "day": "2026-11-27",
                                             "start": "16:00", "end": "15:00", "place": "二楼",
                                             "speaker_ids": [str(org.member_a.id)]})
    assert response.status_code == 422 and "应晚于开始时间" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Exchange)) == 0


def test_secretary_rejects_with_a_reason_and_approves_proposals(client, login, org, desk, frozen):
    from quotas.models import Exchange

    frozen("2026-11-23 10:00")
    first = _propose(client, login, org.member_a)
    second = _propose(client, login, org.member_a2, "数据库调优心得")
    d = desk(org.secretary_a)
    assert "待审核" in d.get("/console/exchanges").get_data(as_text=True)
    no_reason = d.post(f"/console/exchanges/{first}/review", {"decision": "reject"}, follow_redirects=True)
    assert "退回时请填写原因" in no_reason.get_data(as_text=True)
    assert db.session.get(Exchange, first).status == "pending"
    d.post(f"/console/exchanges/{first}/review", {"decision": "reject", "reason": "主题与本支部业务无关"})
    d.post(f"/console/exchanges/{second}/review", {"decision": "approve"})
    db.session.expire_all()
    assert db.session.get(Exchange, first).status == "rejected"
    assert db.session.get(Exchange, first).reject_reason == "主题与本支部业务无关"
    assert db.session.get(Exchange, second).status == "approved"
    assert _audited("quota.exchange_reject", first) == 1 and _audited("quota.exchange_approve", second) == 1


def test_secretary_marks_and_unmarks_attendance_and_cancels(client, login, org, desk, frozen):
    from quotas.models import Attendance, Exchange

    frozen("2026-11-23 10:00")
    exchange_id = _propose(client, login, org.secretary_a, "安全生产交流", speaker=org.member_a2)
    d = desk(org.secretary_a)
    page = d.get(f"/console/exchanges/{exchange_id}").get_data(as_text=True)
    assert "补登参加" in page and "张三" in page
    d.post(f"/console/exchanges/{exchange_id}/attendance", {"member_ids": [str(org.member_a.id),
                                                                          str(org.secretary_a.id)]})
    present = set(db.session.scalars(select(Attendance.member_id).where(Attendance.exchange_id == exchange_id)))
    assert present == {org.member_a.id, org.secretary_a.id}
    d.post(f"/console/exchanges/{exchange_id}/attendance/{org.secretary_a.id}/remove")
    present = set(db.session.scalars(select(Attendance.member_id).where(Attendance.exchange_id == exchange_id)))
    assert present == {org.member_a.id}
    d.post(f"/console/exchanges/{exchange_id}/cancel", {"reason": "会议室冲突"})
    db.session.expire_all()
    exchange = db.session.get(Exchange, exchange_id)
    assert exchange.status == "cancelled" and exchange.cancel_reason == "会议室冲突"
    assert "已取消" in d.get("/console/exchanges").get_data(as_text=True)
    for action in ("quota.attendance_mark", "quota.attendance_remove", "quota.exchange_cancel"):
        assert _audited(action, exchange_id) == 1, action


def test_the_projector_shows_the_code_and_a_qr_drawn_on_the_server(client, login, org, desk, frozen, app):
    from quotas.models import Exchange
    from quotas.services import checkin_code

    frozen("2026-11-26 13:55")
    exchange_id = _propose(client, login, org.secretary_a, "党建与业务融合", speaker=org.member_a2)
    code = checkin_code(db.session.get(Exchange, exchange_id))
    d = desk(org.secretary_a)
    page = d.get(f"/console/exchanges/{exchange_id}/projector")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "党建与业务融合" in html
    assert f"{code['code'][:3]}&nbsp;{code['code'][3:]}" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'class="qr"' in html
    assert d.get(f"/console/exchanges/{exchange_id}/count").get_json() == {"count": 0}
    checked = client.post(f"/api/v1/exchanges/{exchange_id}/check-in", headers=login(org.member_a),
                          json={"code": code["code"]})
    assert checked.status_code in (200, 201), checked.get_json()
    assert d.get(f"/console/exchanges/{exchange_id}/count").get_json() == {"count": 1}


def test_another_branchs_exchange_is_not_found(client, login, org, desk, frozen):
    frozen("2026-11-23 10:00")
    exchange_id = _propose(client, login, org.secretary_b, "乙支部交流", speaker=org.member_b)
    d = desk(org.secretary_a)
    for path in ("", "/projector", "/count"):
        assert d.get(f"/console/exchanges/{exchange_id}{path}").status_code == 404, path
    assert d.post(f"/console/exchanges/{exchange_id}/cancel", {"reason": "x"}).status_code == 404


# --- quizzes --------------------------------------------------------------------------------------------

def _bank(org, count=3):
    from tests.quizzes.helpers import make_question

    return [make_question(org.committee_a, "judge", f"判断题第{i}题：党员应当遵守纪律。", [], "T", branch=org.branch_a)
            for i in range(count)]


def test_quiz_preview_shows_the_draw_then_the_same_questions_are_created(org, desk, frozen):
    from quizzes.models import Quiz

    frozen("2026-11-23 10:00")
    bank = _bank(org, 5)
    d = desk(org.secretary_a)
    form = {"mode": "rules", "week_key": "2026-W49", "kind_0": "judge", "count_0": "3", "pass_percent": "60",
            "time_limit_minutes": "15", "max_attempts": "1", "points_per_question": "10", "reveal_answers": "1"}
    preview = d.post("/console/quizzes/new", {**form, "action": "preview"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "将抽到 3 题" in html
    shown = {q.id for q in bank if q.stem in html}
    assert len(shown) == 3
    assert "解析标记" not in html  # the preview never shows answers or explanations
    assert db.session.scalar(select(func.count()).select_from(Quiz)) == 0
    created = d.post("/console/quizzes/new", {**form, "action": "create"})
    assert created.status_code == 302
    quiz = db.session.scalar(select(Quiz))
    assert quiz.week_key == "2026-W49" and quiz.branch_id == org.branch_a.id
    assert {item.question_id for item in quiz.items} == shown
    assert _audited("quiz.create", quiz.id) == 1


def test_quiz_preview_names_the_shortage(org, desk, frozen):
    from quizzes.models import Quiz

    frozen("2026-11-23 10:00")
    _bank(org, 2)
    d = desk(org.secretary_a)
    form = {"mode": "rules", "week_key": "2026-W48", "kind_0": "judge", "count_0": "5"}
    for action in ("preview", "create"):
        response = d.post("/console/quizzes/new", {**form, "action": action})
        html = response.get_data(as_text=True)
        assert "题库不足" in html and 'id="shortages"' in html, action
        assert '<td class="num">5</td><td class="num">2</td><td class="num warn">3</td>' in html, action
    assert db.session.scalar(select(func.count()).select_from(Quiz)) == 0


def test_quiz_by_picking_then_edited_then_deleted(org, desk, frozen):
    from quizzes.models import Quiz

    frozen("2026-11-23 10:00")
    bank = _bank(org, 3)
    d = desk(org.secretary_a)
    created = d.post("/console/quizzes/new", {"mode": "pick", "week_key": "2026-W50", "action": "create",
                                              "question_ids": [str(bank[2].id), str(bank[0].id)]})
    assert created.status_code == 302, created.get_data(as_text=True)
    quiz = db.session.scalar(select(Quiz))
    assert [i.question_id for i in quiz.items] == [bank[2].id, bank[0].id]
    edit = d.get(f"/console/quizzes/{quiz.id}/edit")
    assert edit.status_code == 200 and 'name="time_limit_minutes"' in edit.get_data(as_text=True)
    saved = d.post(f"/console/quizzes/{quiz.id}/edit", {
        "title": "十二月第二周测验", "week_key": "2026-W50", "opens_at": "2026-12-07T08:00",
        "closes_at": "2026-12-13T22:00",
        "time_limit_minutes": "20", "max_attempts": "2", "points_per_question": "50", "pass_percent": "60",
        "reveal_answers": "1"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    db.session.expire_all()
    quiz = db.session.get(Quiz, quiz.id)
    assert ((quiz.title, quiz.time_limit_minutes, quiz.max_attempts, quiz.total_score)
            == ("十二月第二周测验", 20, 2, 100))
    assert _audited("quiz.update", quiz.id) == 1
    assert d.post(f"/console/quizzes/{quiz.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Quiz)) == 0
    assert _audited("quiz.delete", quiz.id) == 1


def test_an_open_quiz_edits_only_title_and_close_and_one_started_cannot_be_deleted(client, login, org, desk, frozen):
    from quizzes.models import Quiz

    frozen("2026-11-23 10:00")
    bank = _bank(org, 2)
    d = desk(org.secretary_a)
    d.post("/console/quizzes/new", {"mode": "pick", "action": "create", "week_key": "2026-W48",
                                    "question_ids": [str(q.id) for q in bank]})
    quiz = db.session.scalar(select(Quiz))
    page = d.get(f"/console/quizzes/{quiz.id}/edit").get_data(as_text=True)
    assert 'name="closes_at"' in page and 'name="time_limit_minutes"' not in page
    started = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=login(org.member_a))
    assert started.status_code in (200, 201), started.get_json()
    assert d.post(f"/console/quizzes/{quiz.id}/edit", {"title": "本周测验（改）",
                                                       "closes_at": "2026-11-29T20:00"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Quiz, quiz.id).title == "本周测验（改）"
    refused = d.post(f"/console/quizzes/{quiz.id}/delete", follow_redirects=True)
    assert "已有党员作答，不能删除" in refused.get_data(as_text=True)
    assert db.session.get(Quiz, quiz.id) is not None
    live = d.get(f"/console/quizzes/{quiz.id}/live").get_json()
    assert live["submitted"] == 0 and live["audience"] >= 2


# --- members ---------------------------------------------------------------------------------------------

def test_members_list_filters_and_shows_progress(org, desk):
    org.member_a.openid = "openid-zhangsan"
    org.member_a2.active = False
    db.session.commit()
    d = desk(org.secretary_a)
    html = d.get("/console/members").get_data(as_text=True)
    assert "张三" in html and "李四" in html and "王五" not in html and "0/1" in html
    bound = d.get("/console/members?bound=1").get_data(as_text=True)
    assert "张三" in bound and "李四" not in bound
    inactive = d.get("/console/members?active=0").get_data(as_text=True)
    assert "李四" in inactive and "张三" not in inactive
    search = d.get("/console/members?q=张").get_data(as_text=True)
    assert "张三" in search and "李四" not in search
    assert d.get(f"/console/members?branch_id={org.branch_b.id}").status_code == 404


def test_admin_sees_any_branch_of_the_subtree(org, desk):
    d = desk(org.admin_a)
    html = d.get(f"/console/members?branch_id={org.branch_a2.id}").get_data(as_text=True)
    assert "赵六" in html and "张三" not in html
    assert d.get(f"/console/members?branch_id={org.branch_b.id}").status_code == 404


def test_secretary_edits_a_members_name_group_and_join_date(org, desk):
    group = factories.group(org.branch_a, "第一党小组")
    other = factories.group(org.branch_a2, "外支部小组")
    d = desk(org.secretary_a)
    response = d.post(f"/console/members/{org.member_a.id}", {"name": "张三丰", "group_id": str(group.id),
                                                              "joined_on": "2015-07-01"})
    assert response.status_code == 302
    db.session.expire_all()
    member = db.session.get(Member, org.member_a.id)
    assert (member.name, member.group_id, str(member.joined_on)) == ("张三丰", group.id, "2015-07-01")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "member.update"))
    assert entry.details["changes"]["name"] == ["张三", "张三丰"]
    wrong = d.post(f"/console/members/{org.member_a.id}", {"name": "张三丰", "group_id": str(other.id)})
    assert wrong.status_code == 422 and "党小组：不属于本支部" in wrong.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Member, org.member_a.id).group_id == group.id


def test_deactivate_and_reactivate_from_the_member_page(client, login, org, desk):
    headers = login(org.member_a)
    d = desk(org.secretary_a)
    d.post(f"/console/members/{org.member_a.id}/active", {"active": "0"})
    db.session.expire_all()
    assert db.session.get(Member, org.member_a.id).active is False
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    d.post(f"/console/members/{org.member_a.id}/active", {"active": "1"})
    db.session.expire_all()
    assert db.session.get(Member, org.member_a.id).active is True
    assert _audited("member.deactivate", org.member_a.id) == 1 and _audited("member.activate", org.member_a.id) == 1


def test_unbind_wechat_from_the_console_ends_the_phones_sessions(client, login, org, desk, fake_wechat):
    headers = login(org.member_a)
    d = desk(org.secretary_a)
    assert "解绑微信" in d.get(f"/console/members/{org.member_a.id}").get_data(as_text=True)
    assert d.post(f"/console/members/{org.member_a.id}/unbind").status_code == 302
    db.session.expire_all()
    assert db.session.get(Member, org.member_a.id).openid is None
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert _audited("member.unbind_wechat", org.member_a.id) == 1
    # The new WeChat binds by phone on its first login.
    login_again = client.post("/api/v1/auth/wechat", json={"code": fake_wechat.login_code("openid-new-phone")})
    assert login_again.status_code != 200


def test_unbind_wechat_in_the_api(client, login, org):
    phone = login(org.member_a)
    refused = client.delete(f"/api/v1/members/{org.member_b.id}/wechat", headers=login(org.secretary_a))
    assert refused.status_code == 404
    denied = client.delete(f"/api/v1/members/{org.member_a2.id}/wechat", headers=login(org.member_a))
    assert denied.status_code == 403
    response = client.delete(f"/api/v1/members/{org.member_a.id}/wechat", headers=login(org.secretary_a))
    assert response.status_code == 200 and response.get_json()["bound"] is False
    assert client.get("/api/v1/me", headers=phone).status_code == 401
    db.session.expire_all()
    assert db.session.get(Member, org.member_a.id).openid is None
    revoked = db.session.scalars(select(AuthSession.revoked_at).where(AuthSession.member_id == org.member_a.id))
    assert all(r is not None for r in revoked)
    again = client.delete(f"/api/v1/members/{org.member_a.id}/wechat", headers=login(org.secretary_a))
    assert again.status_code == 409 and again.get_json()["code"] == "not_bound"
    assert _audited("member.unbind_wechat", org.member_a.id) == 1


# --- accounts and passwords -------------------------------------------------------------------------------

def test_admin_opens_an_account_whose_temporary_password_must_be_changed(app, org, desk):
    from console.models import ConsoleAccount

    d = desk(org.admin_a)
    page = d.post(f"/console/accounts/{org.secretary_a2.id}", {"username": "zhoushuji"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="temp-password"' in html
    temp = html.split('id="temp-password">')[1].split("<")[0]
    account = db.session.scalar(select(ConsoleAccount).where(ConsoleAccount.username == "zhoushuji"))
    assert account.must_change_password is True and temp not in account.password_hash
    assert _audited("console.account_create", org.secretary_a2.id) == 1
    secretary = Desk(app.test_client())
    assert secretary.login("zhoushuji", temp).status_code == 302
    forced = secretary.get(f"/console/branches/{org.branch_a2.id}")
    assert forced.status_code == 302 and forced.headers["Location"].endswith("/console/password")
    secretary.get("/console/password")
    changed = secretary.post("/console/password", {"current": temp, "new": "Zhou-new-pass-9",
        "confirm": "Zhou-new-pass-9"})
    assert changed.status_code == 302
    db.session.expire_all()
    assert db.session.get(ConsoleAccount, account.id).must_change_password is False
    assert secretary.get(f"/console/branches/{org.branch_a2.id}").status_code == 200
    assert Desk(app.test_client()).login("zhoushuji", temp).status_code == 401  # the temporary one is spent
    assert _audited("console.password_change", org.secretary_a2.id) == 1


def test_admin_resets_a_password_and_the_old_sessions_end(app, org, desk, account):
    d_secretary = desk(org.secretary_a)
    d_admin = desk(org.admin_a)
    page = d_admin.post(f"/console/accounts/{org.secretary_a.id}/reset").get_data(as_text=True)
    temp = page.split('id="temp-password">')[1].split("<")[0]
    assert d_secretary.client.get(f"/console/branches/{org.branch_a.id}").status_code == 302
    assert Desk(app.test_client()).login(f"user{org.secretary_a.id}", PASSWORD).status_code == 401
    assert Desk(app.test_client()).login(f"user{org.secretary_a.id}", temp).status_code == 302
    assert _audited("console.password_reset", org.secretary_a.id) == 1


def test_accounts_are_for_admins_within_their_subtree(org, desk):
    secretary = desk(org.secretary_a)
    assert secretary.get("/console/accounts").status_code == 403
    assert secretary.post(f"/console/accounts/{org.secretary_a2.id}", {"username": "x-y-z"}).status_code == 403
    admin_b = desk(org.admin_b)
    assert admin_b.post(f"/console/accounts/{org.secretary_a2.id}", {"username": "x-y-z"}).status_code == 404
    assert admin_b.post(f"/console/accounts/{org.secretary_a.id}/reset").status_code == 404
    admin_a = desk(org.admin_a)
    plain = admin_a.post(f"/console/accounts/{org.member_a.id}", {"username": "zhangsan"})
    assert plain.status_code == 422 and "只有在任的支部书记" in plain.get_data(as_text=True)
    html = admin_a.get("/console/accounts").get_data(as_text=True)
    assert "周书记" in html and "孙书记" not in html


def test_changing_ones_password_checks_the_current_one_and_the_rules(org, desk):
    d = desk(org.secretary_a)
    wrong = d.post("/console/password", {"current": "nope", "new": "Another-pass-1", "confirm": "Another-pass-1"})
    assert wrong.status_code == 422 and "当前密码：不正确" in wrong.get_data(as_text=True)
    weak = d.post("/console/password", {"current": PASSWORD, "new": "short", "confirm": "short"})
    assert weak.status_code == 422 and "至少 10 位" in weak.get_data(as_text=True)
    mismatch = d.post("/console/password", {"current": PASSWORD, "new": "Another-pass-1", "confirm": "Another-pass-2"})
    assert mismatch.status_code == 422 and "不一致" in mismatch.get_data(as_text=True)
    assert _audited("console.password_change") == 0


def test_lockout_is_per_account_and_address(app, org, account, frozen):
    """Someone elsewhere who knows `admin` locks out only their own address, never the admin's."""
    frozen("2026-11-23 09:00")
    account(org.admin_a, "admin")
    attacker = Desk(app.test_client())
    attacker.client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(5):
        assert attacker.login("admin", "Wrong-password-1").status_code == 401
    assert attacker.login("admin").status_code == 423
    owner = Desk(app.test_client())
    owner.client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert owner.login("admin").status_code == 302
    assert _audited("console.locked", org.admin_a.id) == 1


def test_a_reason_typed_on_the_console_refuses_control_characters_like_every_field(client, login, org, desk, frozen):
    from quotas.models import Exchange

    frozen("2026-11-23 10:00")
    proposal = _propose(client, login, org.member_a)
    held = _propose(client, login, org.secretary_a, "已开始的交流", day="2026-11-23", speaker=org.member_a2)
    frozen("2026-11-23 15:00")  # the second has begun: cancelling it needs a reason
    d = desk(org.secretary_a)
    rejected = d.post(f"/console/exchanges/{proposal}/review", {"decision": "reject", "reason": "主题\u202e无关"},
                      follow_redirects=True).get_data(as_text=True)
    cancelled = d.post(f"/console/exchanges/{held}/cancel", {"reason": "会议室\x1b冲突"},
                       follow_redirects=True).get_data(as_text=True)
    assert "U+202E" in rejected and "U+001B" in cancelled
    db.session.expire_all()
    assert db.session.get(Exchange, proposal).status == "pending"
    assert db.session.get(Exchange, held).status == "approved"
    assert _audited("quota.exchange_reject", proposal) == 0 and _audited("quota.exchange_cancel", held) == 0
