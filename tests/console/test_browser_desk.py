"""The desk pages of #18 and the logout of #15.4 in Chromium: what the page shows and what the database then holds.

With CONSOLE_SCREENSHOTS=<dir> each test also saves its page as console-*.png there (docs/screenshots are made so).
"""
import os

from sqlalchemy import func, select

from core.extensions import db
from members.models import Member
from tests.console.test_browser import _log_in, _release, browser, page, server  # noqa: F401  (fixtures)
from tests.console.test_desk import _propose

SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"console-{name}.png"), full_page=True)


def test_a_cookie_replayed_after_logout_lands_on_the_login_page(page, org, account):
    """#15.4 in the browser: the cookie saved before 退出, put back, opens nothing."""
    account(org.secretary_a, "qianshuji")
    _log_in(page, "qianshuji")
    saved = page.context.cookies()
    assert any(c["name"] == "bs_console" for c in saved)
    page.click(".who button:has-text('退出')")
    page.wait_for_url("**/console/login")
    page.context.clear_cookies()
    page.context.add_cookies(saved)
    branch_id = org.branch_a.id
    _release()
    page.goto(f"/console/branches/{branch_id}/behind")
    assert "/console/login" in page.url
    assert page.locator("input[name=password]").is_visible()


def test_secretary_reviews_creates_and_marks_exchanges(page, org, account, client, login, frozen):
    from quotas.models import Attendance, Exchange

    frozen("2026-11-23 10:00")
    proposal = _propose(client, login, org.member_a, "Kubernetes 运维经验分享")
    account(org.secretary_a, "qianshuji")
    _log_in(page, "qianshuji")
    page.click("nav a:has-text('交流')")
    assert page.locator("#state-pending").inner_text().count("Kubernetes 运维经验分享") == 1
    page.click("#state-pending a:has-text('Kubernetes')")
    page.click("#review button:has-text('通过')")
    page.wait_for_selector(".flash.ok")
    assert page.locator("#state").inner_text() == "已安排"
    db.session.expire_all()
    assert db.session.get(Exchange, proposal).status == "approved"
    ids = org.member_a2.id, org.secretary_a.id
    _release()
    # Mark two members present, then withdraw one.
    page.check(f"#mark-form input[value='{ids[0]}']")
    page.check(f"#mark-form input[value='{ids[1]}']")
    page.click("#mark-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert page.locator("#present tbody tr").count() == 2
    page.click("#present tr:has-text('钱书记') button:has-text('撤销')")
    page.wait_for_selector(".flash.ok")
    present = set(db.session.scalars(select(Attendance.member_id).where(Attendance.exchange_id == proposal)))
    assert present == {ids[0]}
    member_a = org.member_a.id
    _release()
    _shot(page, "exchange")
    # Create one from the list page's form.
    page.click("a:has-text('返回交流列表')")
    page.fill("#exchange-form input[name=title]", "微服务拆分实践")
    page.fill("#exchange-form input[name=day]", "2026-11-27")
    page.fill("#exchange-form input[name=place]", "二楼会议室")
    page.check(f"#speakers input[value='{member_a}']")
    page.click("#exchange-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    created = db.session.scalar(select(Exchange).where(Exchange.title == "微服务拆分实践"))
    assert created.status == "approved" and [s.member_id for s in created.speakers] == [member_a]
    created_id = created.id
    _release()
    assert "微服务拆分实践" in page.locator("h1").inner_text()
    page.fill("#cancel-form input[name=reason]", "会议室冲突")
    page.click("#cancel-form button")
    page.wait_for_selector(".flash.ok")
    assert page.locator("#state").inner_text() == "已取消"
    db.session.expire_all()
    assert db.session.get(Exchange, created_id).status == "cancelled"
    _release()
    page.click("a:has-text('返回交流列表')")
    _shot(page, "exchanges")


def test_the_projector_counts_check_ins_without_a_reload(page, org, account, client, login, frozen):
    from quotas.models import Exchange
    from quotas.services import checkin_code

    frozen("2026-11-26 13:55")
    exchange_id = _propose(client, login, org.secretary_a, "党建与业务深度融合", speaker=org.member_a2)
    code = checkin_code(db.session.get(Exchange, exchange_id))["code"]
    account(org.secretary_a, "qianshuji")
    page.set_viewport_size({"width": 1920, "height": 1080})  # a meeting-room projector
    _log_in(page, "qianshuji")
    page.goto(f"/console/exchanges/{exchange_id}/projector")
    assert page.locator("#title").inner_text() == "党建与业务深度融合"
    assert page.locator("#code").inner_text().replace(" ", "").replace("\xa0", "") == code
    qr = page.locator("#qr svg.qr").bounding_box()
    assert qr["width"] >= 600 and qr["height"] >= 600  # large enough to scan from the back of the room
    code_px = page.locator("#code").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert code_px >= 120
    assert page.locator("#count").inner_text() == "0"
    _shot(page, "projector")
    _release()
    response = client.post(f"/api/v1/exchanges/{exchange_id}/check-in", headers=login(org.member_a),
                           json={"code": code})
    assert response.status_code in (200, 201), response.get_json()
    _release()
    from playwright.sync_api import expect

    expect(page.locator("#count")).to_have_text("1", timeout=10000)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # the same page, not reloaded


def test_quiz_by_rules_previewed_then_created_and_a_shortage_named(page, org, account, frozen):
    from quizzes.models import Quiz
    from tests.quizzes.helpers import make_question

    frozen("2026-11-23 10:00")
    bank = [make_question(org.committee_a, "judge", f"判断题第{i}题：党员应当按期交纳党费。", [], "T",
                          branch=org.branch_a) for i in range(4)]
    account(org.secretary_a, "qianshuji")
    _log_in(page, "qianshuji")
    page.click("nav a:has-text('测验')")
    page.click("#new-quiz")
    page.select_option("select[name=week_key]", "2026-W49")
    page.select_option("select[name=kind_0]", "judge")
    page.fill("input[name=count_0]", "9")
    page.click("button:has-text('预览抽题')")
    page.wait_for_selector("#shortages")
    assert page.locator("#shortages td.warn").inner_text() == "5"
    page.fill("input[name=count_0]", "3")
    page.click("button:has-text('预览抽题')")
    page.wait_for_selector("#drawn")
    assert page.locator("#drawn tbody tr").count() == 3
    drawn = set(page.locator("#drawn td.stem").all_inner_texts())
    _shot(page, "quiz-new")
    page.click("button:has-text('创建测验')")
    page.wait_for_selector(".flash.ok")
    quiz = db.session.scalar(select(Quiz))
    assert quiz.week_key == "2026-W49" and {i.question.stem for i in quiz.items} == drawn
    assert len({q.id for q in bank} & {i.question_id for i in quiz.items}) == 3
    quiz_id = quiz.id
    _release()
    page.click("#edit-quiz")
    page.fill("input[name=title]", "十二月第一周测验")
    page.fill("input[name=time_limit_minutes]", "25")
    _shot(page, "quiz-edit")
    page.click("#quiz-edit-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    db.session.expire_all()
    quiz = db.session.get(Quiz, quiz_id)
    assert (quiz.title, quiz.time_limit_minutes) == ("十二月第一周测验", 25)
    _release()
    _shot(page, "quiz")
    page.click("#delete-quiz button")
    page.wait_for_selector(".flash.ok")
    assert db.session.scalar(select(func.count()).select_from(Quiz)) == 0


def test_an_open_quizs_participation_updates_live(page, org, account, client, login, frozen):
    from tests.quizzes.helpers import answers_for, make_bank

    frozen("2026-11-23 10:00")
    bank = make_bank(org.committee_a, branch=org.branch_a)
    quiz = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a),
                       json={"question_ids": [q.id for q in bank]}).get_json()
    account(org.secretary_a, "qianshuji")
    _log_in(page, "qianshuji")
    _release()
    page.goto(f"/console/quizzes/{quiz['id']}")
    assert page.locator("#live-submitted").inner_text() == "0"
    _release()
    attempt = client.post(f"/api/v1/quizzes/{quiz['id']}/attempts", headers=login(org.member_a)).get_json()
    submitted = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=login(org.member_a),
                            json={"answers": answers_for(bank)})
    assert submitted.status_code == 200, submitted.get_json()
    _release()
    from playwright.sync_api import expect

    expect(page.locator("#live-submitted")).to_have_text("1", timeout=10000)


def test_secretary_finds_edits_and_unbinds_a_member(page, org, account, client, login):
    phone = login(org.member_a)  # bound, with a session on the phone
    account(org.secretary_a, "qianshuji")
    _log_in(page, "qianshuji")
    page.click("nav a:has-text('党员')")
    assert page.locator("#members tbody tr").count() == 3
    page.select_option("select[name=bound]", "1")
    page.click("#member-filters button[type=submit]")
    assert page.locator("#members tbody tr").count() == 1
    _shot(page, "members")
    page.click("#members a:has-text('张三')")
    page.fill("#member-form input[name=name]", "张三丰")
    page.fill("#member-form input[name=joined_on]", "2015-07-01")
    page.click("#member-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    page.click("#unbind-form button")
    page.wait_for_selector(".flash.ok")
    assert page.locator("#bound").inner_text() == "微信未绑定"
    _shot(page, "member")
    db.session.expire_all()
    member = db.session.get(Member, org.member_a.id)
    assert (member.name, str(member.joined_on), member.openid) == ("张三丰", "2015-07-01", None)
    assert client.get("/api/v1/me", headers=phone).status_code == 401


def test_admin_opens_an_account_and_the_secretary_sets_a_password_first(page, browser, server, org, account):
    from console.models import ConsoleAccount

    account(org.admin_a, "wuguanli")
    _log_in(page, "wuguanli")
    page.click("nav a:has-text('工作台账号')")
    secretary = org.secretary_a2.id
    _release()
    row = page.locator(f"#accounts tr[data-member='{secretary}']")
    row.locator("input[name=username]").fill("zhoushuji")
    row.locator("button:has-text('开通')").click()
    page.wait_for_selector("#issued")
    temp = page.locator("#temp-password").inner_text()
    _shot(page, "accounts")
    assert db.session.scalar(select(ConsoleAccount.must_change_password).where(
        ConsoleAccount.username == "zhoushuji")) is True
    _release()
    other = browser.new_context(base_url=server, locale="zh-CN")
    try:
        tab = other.new_page()
        _release()
        tab.goto("/console/login")
        tab.fill("input[name=username]", "zhoushuji")
        tab.fill("input[name=password]", temp)
        tab.click("button[type=submit]")
        tab.wait_for_url("**/console/password")
        assert "临时密码" in tab.locator(".page-head").inner_text()
        _shot(tab, "password")
        tab.fill("input[name=current]", temp)
        tab.fill("input[name=new]", "Zhou-new-pass-9")
        tab.fill("input[name=confirm]", "Zhou-new-pass-9")
        tab.click("#password-form button[type=submit]")
        tab.wait_for_selector(".flash.ok")
        assert tab.locator("h1").first.inner_text() == "甲二支部"
    finally:
        other.close()
    db.session.expire_all()
    assert db.session.scalar(select(ConsoleAccount.must_change_password).where(
        ConsoleAccount.username == "zhoushuji")) is False


def test_logout_stays_on_one_line_and_the_sidebar_runs_the_whole_page(page, org, account):
    org.branch_a.name = "集团公司信息技术与数字化转型中心第一党支部"
    db.session.commit()
    account(org.secretary_a, "qianshuji")
    _log_in(page, "qianshuji")
    page.goto("/console/members")
    button = page.locator(".who button:has-text('退出')")
    height = button.evaluate("el => el.getBoundingClientRect().height")
    line = button.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
    assert height < line * 1.5  # one line, however long the branch name beside it
    # The whole page as one picture (as a screenshot of a long page shows it): near its bottom, the sidebar's
    # column is white like its top, not the page's grey.
    page.set_viewport_size({"width": 1280, "height": 320})
    width, height, pixel = _png_pixels(page.screenshot(full_page=True))
    assert height > 480  # longer than the window
    assert pixel(100, 150) == pixel(100, height - 10) == (255, 255, 255)


def _png_pixels(png):
    """(width, height, pixel(x, y) → (r, g, b)) of an 8-bit RGB(A) PNG, decoded with zlib alone."""
    import struct
    import zlib

    pos, chunks = 8, []
    width = height = channels = 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, _, colour = struct.unpack(">IIBB", data[:10])
            channels = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            chunks.append(data)
        pos += 12 + length
    raw, stride = zlib.decompress(b"".join(chunks)), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                near = min((abs(p - left), 0, left), (abs(p - up), 1, up), (abs(p - corner), 2, corner))[2]
                line[i] = (line[i] + near) & 255
        rows.append(line)
        previous = line
    return width, height, lambda x, y: tuple(rows[y][x * channels:x * channels + 3])
