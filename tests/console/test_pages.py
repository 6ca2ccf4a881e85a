"""The console's pages through the browser-facing routes: scope, drill-downs and content, backed by the rooms."""
import pytest
from sqlalchemy import func, select

from core.audit import AuditEntry
from core.extensions import db
from tests import factories

REFLECTION = "这本书讲清了基层党组织建设的方法，结合支部实际，我们在三会一课和主题党日中加以运用，收获很大。" * 3


def _report_book(client, login, who, title="习近平新时代中国特色社会主义思想学习纲要"):
    response = client.post("/api/v1/me/books", headers=login(who), json={
        "title": title, "author": "中央宣传部", "finished_on": "2026-10-08", "reflection": REFLECTION})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()["id"]


def test_admin_overview_draws_charts_and_ranks_branches(org, desk, frozen):
    frozen("2026-11-23 10:00")
    d = desk(org.admin_a)
    page = d.get("/console/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("<svg") == 2 and "近 12 周学习完成率" in html
    assert f'/console/branches/{org.branch_a.id}"' in html and f'/console/branches/{org.branch_a2.id}"' in html
    assert "乙一支部" not in html  # another committee's branch never appears


@pytest.mark.parametrize("who, branch, status", [
    ("secretary_a", "branch_a", 200), ("secretary_a", "branch_a2", 404), ("secretary_a", "branch_b", 404),
    ("admin_a", "branch_a2", 200), ("admin_a", "branch_b", 404), ("admin_b", "branch_a", 404),
])
def test_branch_pages_follow_the_scope_rule(org, desk, who, branch, status):
    d = desk(getattr(org, who))
    branch_id = getattr(org, branch).id
    for path in ("", "/behind", "/books", "/tally"):
        assert d.get(f"/console/branches/{branch_id}{path}").status_code == status, path


def test_secretary_approves_and_rejects_books(client, org, login, desk):
    first = _report_book(client, login, org.member_a)
    second = _report_book(client, login, org.member_a2, "中国共产党简史")
    d = desk(org.secretary_a)
    page = d.get(f"/console/branches/{org.branch_a.id}/books").get_data(as_text=True)
    assert "习近平新时代中国特色社会主义思想学习纲要" in page and "中国共产党简史" in page
    assert d.post(f"/console/books/{first}/review", {"decision": "approve"}).status_code == 302
    no_reason = d.post(f"/console/books/{second}/review", {"decision": "reject"})
    assert no_reason.status_code == 302
    assert d.post(f"/console/books/{second}/review",
                  {"decision": "reject", "reason": "心得过于笼统"}).status_code == 302
    mine = client.get("/api/v1/me/books", headers=login(org.member_a)).get_json()
    items = mine["items"] if isinstance(mine, dict) else mine
    assert items[0]["status"] == "approved"
    page = d.get(f"/console/branches/{org.branch_a.id}/books").get_data(as_text=True)
    assert "没有待审核的读书报告" in page and "心得过于笼统" in page


def test_another_branchs_book_cannot_be_reviewed(client, org, login, desk):
    report = _report_book(client, login, org.member_b)
    d = desk(org.secretary_a)
    assert d.post(f"/console/books/{report}/review", {"decision": "approve"}).status_code == 404


def test_remind_reaches_the_members_behind_once_a_day(org, desk, frozen):
    frozen("2026-11-23 10:00")
    d = desk(org.secretary_a)
    response = d.post(f"/console/branches/{org.branch_a.id}/remind", {"kind": "quota"})
    assert response.status_code == 302
    page = d.get(f"/console/branches/{org.branch_a.id}/behind").get_data(as_text=True)
    assert "已向" in page and "张三" in page
    from notifications.models import Notification

    sent = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "reminder_quota"))
    assert sent >= 2
    d.post(f"/console/branches/{org.branch_a.id}/remind", {"kind": "quota"})
    again = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "reminder_quota"))
    assert again == sent
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "notifications.branch_reminder")) == 2


def test_an_unknown_reminder_kind_is_refused(org, desk):
    d = desk(org.secretary_a)
    assert d.post(f"/console/branches/{org.branch_a.id}/remind", {"kind": "everything"}).status_code == 422


def test_tally_exports_and_posts_once_a_month(org, desk, frozen):
    frozen("2026-11-23 10:00")
    d = desk(org.secretary_a)
    page = d.get(f"/console/branches/{org.branch_a.id}/tally").get_data(as_text=True)
    assert "张三" in page and "未完成" in page
    export = d.get(f"/console/branches/{org.branch_a.id}/tally/export?kind=csv")
    assert export.status_code == 200 and "姓名".encode("utf-8") in export.data
    assert d.get(f"/console/branches/{org.branch_a.id}/tally/export?kind=pdf").status_code == 422
    d.post(f"/console/branches/{org.branch_a.id}/tally/post")
    d.post(f"/console/branches/{org.branch_a.id}/tally/post")
    page = d.get(f"/console/branches/{org.branch_a.id}/tally").get_data(as_text=True)
    assert page.count("<td>2026-11</td>") == 1


def test_roster_import_names_every_bad_row_and_writes_nothing(org, desk):
    from members.models import Member

    d = desk(org.secretary_a)
    before = db.session.scalar(select(func.count()).select_from(Member))
    upload = factories.csv_upload([["刘一", "13911110001", "甲一支部", "", "党员", ""],
                                   ["陈二", "1391111", "甲一支部", "", "党员", ""]],
                                  ["姓名", "手机号", "支部", "党小组", "角色", "入党日期"])
    response = d.post("/console/imports/roster", {"file": upload}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "第 3 行" in html and "手机号格式不正确" in html and "第 2 行" not in html
    assert db.session.scalar(select(func.count()).select_from(Member)) == before


def test_roster_import_applies_a_good_file(org, desk):
    d = desk(org.secretary_a)
    upload = factories.csv_upload([["刘一", "13911110001", "甲一支部", "第一党小组", "党员", "2010-07-01"]],
                                  ["姓名", "手机号", "支部", "党小组", "角色", "入党日期"])
    response = d.post("/console/imports/roster", {"file": upload}, content_type="multipart/form-data")
    assert response.status_code == 200 and "导入成功" in response.get_data(as_text=True)


def test_secretary_schedules_material_for_their_branch(org, desk, frozen):
    frozen("2026-11-23 10:00")
    d = desk(org.secretary_a)
    response = d.post("/console/materials", {"title": "学习党的二十届四中全会精神", "day": "2026-11-25",
                                             "body": "全会精神要点……", "kind": "article", "estimated_minutes": "6",
                                             "publish": "1"})
    assert response.status_code == 302
    page = d.get("/console/materials").get_data(as_text=True)
    assert "学习党的二十届四中全会精神" in page and "定时发布" in page
    bad = d.post("/console/materials", {"title": "", "day": "2026-11-25"})
    assert bad.status_code == 422 and "标题" in bad.get_data(as_text=True)


def test_question_bank_edit(org, desk, client, login):
    created = client.post("/api/v1/questions", headers=login(org.secretary_a), json={
        "kind": "single", "stem": "党的最高理想是什么？", "options": ["共产主义", "小康社会"], "answer": "A"})
    assert created.status_code in (200, 201), created.get_json()
    qid = created.get_json()["id"]
    d = desk(org.secretary_a)
    assert "党的最高理想是什么？" in d.get("/console/questions").get_data(as_text=True)
    response = d.post(f"/console/questions/{qid}", {"stem": "中国共产党的最高理想是什么？",
                                                   "options": "实现共产主义\n全面建成小康社会", "answer": "A",
                                                   "difficulty": "1", "tags": "党章", "explanation": "",
                                                   "source": ""})
    assert response.status_code == 302
    assert "中国共产党的最高理想是什么？" in d.get(f"/console/questions/{qid}").get_data(as_text=True)
    bad = d.post(f"/console/questions/{qid}", {"stem": "x", "options": "甲\n乙", "answer": "Z"})
    assert bad.status_code == 422


def test_quiz_list_page(org, desk):
    assert desk(org.admin_a).get("/console/quizzes").status_code == 200
    assert desk(org.secretary_a).get("/console/quizzes/999999").status_code == 404
