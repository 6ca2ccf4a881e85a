"""The console in a real browser: Debian's headless Chromium driven by Playwright (no browser download)."""
import os
import shutil
import threading

import pytest
from sqlalchemy import func, select

from core.extensions import db
from tests.console.conftest import PASSWORD
from tests.console.test_pages import _report_book

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require_browser():
    missing = []
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -r requirements.txt)")
    if missing:
        reason = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason, pytrace=False)  # CI must run these, never skip them silently
        pytest.skip(reason)


@pytest.fixture(scope="module")
def server(app):
    """Serve the session app on a free local port in a thread."""
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="console-test-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server, locale="zh-CN")
    context.set_default_timeout(15000)
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())  # the 一键提醒 and 公示 buttons ask to confirm
    yield tab
    context.close()


def _release():
    # On SQLite every transaction begins IMMEDIATE: end the test's own before the server thread needs the file.
    db.session.commit()


def _log_in(page, username):
    _release()
    page.goto("/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/**")


def test_admin_logs_in_and_sees_the_charts_drawn(page, org, account):
    account(org.admin_a, "wuguanli")
    _log_in(page, "wuguanli")
    assert page.locator("h1").first.inner_text() == "甲党委"
    assert page.locator("svg.chart").count() == 2
    bars = page.locator("#chart-reading svg rect.bar")
    box = page.locator("#chart-reading svg").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 50  # laid out and drawn, not just present
    assert page.locator("#chart-reading svg text.label").count() == 12
    assert bars.count() == 0  # no material yet: no bars, but the axes and weeks are drawn
    assert page.locator("#ranking tbody tr").count() == 2
    page.click("#ranking a:has-text('甲二支部')")
    page.wait_for_url("**/console/branches/*")
    assert page.locator("h1").first.inner_text() == "甲二支部"


def test_charts_carry_the_weeks_data(page, org, account, frozen):
    from datetime import timedelta

    from core import clock
    from learning.models import Material, MaterialAudience, Reading

    frozen("2026-11-23 10:00")
    material = Material(audience="branches", committee_id=org.committee_a.id, branch_id=org.branch_a.id,
                        author_id=org.secretary_a.id, title="学习材料", source="", summary="", body="",
                        kind="article", estimated_minutes=5, tags=[], status="published",
                        day=clock.today(), published_at=clock.now(), created_at=clock.now(),
                        updated_at=clock.now())
    db.session.add(material)
    db.session.flush()
    db.session.add(MaterialAudience(material_id=material.id, branch_id=org.branch_a.id))
    db.session.add(Reading(member_id=org.member_a.id, material_id=material.id, day=clock.today(),
                           opened_at=clock.now() - timedelta(minutes=5), completed_at=clock.now(), seconds=300))
    db.session.commit()
    account(org.secretary_a, "qianshuji")
    _log_in(page, "qianshuji")
    values = page.locator("#chart-reading svg rect.bar").evaluate_all(
        "els => els.map(e => parseFloat(e.dataset.value))")
    assert values and values[-1] > 0


def test_secretary_approves_a_book(page, org, account, client, login):
    _report_book(client, login, org.member_a)
    account(org.secretary_a, "qianshuji")
    _log_in(page, "qianshuji")
    page.click("a:has-text('读书审核')")
    assert page.locator(".book").count() == 1
    page.click(".book button:has-text('通过')")
    page.wait_for_selector(".flash.ok")
    assert "已通过" in page.locator(".flash.ok").inner_text()
    assert page.locator(".book").count() == 0
    from quotas.models import BookReport

    db.session.expire_all()
    assert db.session.scalar(select(BookReport.status)) == "approved"


def test_secretary_sends_a_reminder_and_sees_the_outbox_rows(page, org, account, frozen):
    frozen("2026-11-23 10:00")
    account(org.secretary_a, "qianshuji")
    _log_in(page, "qianshuji")
    page.click("nav a:has-text('落后提醒')")
    page.click("#behind-quota button:has-text('一键提醒')")
    page.wait_for_selector(".flash.ok")
    assert "已向" in page.locator(".flash.ok").inner_text()
    rows = page.locator("#reminders tbody tr")
    assert rows.count() >= 2 and "张三" in page.locator("#reminders").inner_text()
    from notifications.models import Notification

    assert db.session.scalar(select(func.count()).select_from(Notification)) == rows.count()


def test_a_bad_import_names_the_bad_row(page, org, account):
    account(org.secretary_a, "qianshuji")
    _log_in(page, "qianshuji")
    page.click("nav a:has-text('批量导入')")
    content = "姓名,手机号,支部,党小组,角色,入党日期\n刘一,13911110001,甲一支部,,党员,\n陈二,12345,甲一支部,,党员,\n"
    page.set_input_files("input[type=file]", files=[{"name": "名册.csv", "mimeType": "text/csv",
                                                     "buffer": content.encode("utf-8-sig")}])
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#row-errors")
    table = page.locator("#row-errors").inner_text()
    assert "第 3 行" in table and "手机号" in table and "第 2 行" not in table


def test_another_branchs_page_is_refused(page, org, account):
    account(org.secretary_a, "qianshuji")
    other, sibling = org.branch_b.id, org.branch_a2.id
    _release()
    _log_in(page, "qianshuji")
    response = page.goto(f"/console/branches/{other}")
    assert response.status == 404
    page.wait_for_selector(".empty-state")
    assert "不在您的管理范围内" in page.content()
    response = page.goto(f"/console/branches/{sibling}/books")
    assert response.status == 404


def test_the_reading_reminder_confirms_the_group_it_lists_and_reminds_that_group(page, client, org, account,
                                                                                 frozen, login):
    from notifications.models import Notification
    from tests.learning.helpers import publish

    frozen("2026-11-30 07:00")
    secretary = login(org.secretary_a)
    monday = publish(client, secretary, day="2026-11-30", minutes=1, title="周一学习")
    publish(client, secretary, day="2026-12-01", minutes=1, title="周二学习")
    headers = login(org.member_a)
    frozen("2026-11-30 09:00")
    client.post(f"/api/v1/materials/{monday['id']}/reads", headers=headers)
    frozen("2026-11-30 09:05")
    assert client.post(f"/api/v1/materials/{monday['id']}/reads/finish", json={},
                       headers=headers).get_json()["completed"]
    frozen("2026-12-01 10:00")  # 张三 studied Monday's item, not Tuesday's: all three are behind this week
    account(org.secretary_a, "qianshuji")
    _log_in(page, "qianshuji")
    page.click("nav a:has-text('落后提醒')")
    card = page.locator("#behind-reading")
    listed = set(card.locator("ul.names li").all_inner_texts())
    assert listed == {"张三", "李四", "钱书记"}
    assert card.locator(".badge").inner_text() == "3 人"
    asked = []
    page.once("dialog", lambda dialog: asked.append(dialog.message))
    card.locator("button:has-text('一键提醒')").click()
    page.wait_for_selector(".flash.ok")
    assert asked == ["向 3 人发送学习提醒？"]
    assert "已向 3 人发送提醒" in page.locator(".flash.ok").inner_text()
    db.session.expire_all()
    reminded = db.session.scalars(select(Notification.member_id).where(Notification.kind == "reminder_reading")).all()
    assert sorted(reminded) == sorted([org.member_a.id, org.member_a2.id, org.secretary_a.id])
    again = page.locator("#behind-reading")
    assert again.locator("button:has-text('一键提醒')").is_disabled()
