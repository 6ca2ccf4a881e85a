"""Publishing study material: drafts, scheduling, editing, withdrawal, audiences and safe bodies."""
import io

from openpyxl import Workbook

from core.extensions import db
from learning.models import Material, MaterialAudience
from learning.services import PLAN_HEADERS
from tests import factories
from tests.factories import csv_upload
from tests.learning.helpers import publish


def test_a_secretary_publishes_to_their_branch_and_only_its_members_see_it(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a))
    assert item["branch_ids"] == [org.branch_a.id] and item["status"] == "published"
    mine = client.get("/api/v1/materials/today", headers=login(org.member_a)).get_json()
    assert [i["id"] for i in mine["items"]] == [item["id"]]
    assert mine["items"][0]["state"]["completed"] is False
    for outsider in (org.member_a2_branch, org.member_b):
        headers = login(outsider)
        assert client.get("/api/v1/materials/today", headers=headers).get_json()["items"] == []
        assert client.get(f"/api/v1/materials/{item['id']}", headers=headers).status_code == 404
        assert client.post(f"/api/v1/materials/{item['id']}/reads", headers=headers).status_code == 404


def test_an_admin_publishes_to_the_whole_committee(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    sub = factories.committee("甲下属党委", parent=org.committee_a)
    sub_branch = factories.branch(sub, "下属一支部")
    sub_member = factories.member(sub_branch, name="冯七")
    item = publish(client, login(org.admin_a), audience={"committee_id": org.committee_a.id})
    assert sorted(item["branch_ids"]) == sorted([org.branch_a.id, org.branch_a2.id, sub_branch.id])
    for reader in (org.member_a, org.member_a2_branch, sub_member):
        assert len(client.get("/api/v1/materials/today", headers=login(reader)).get_json()["items"]) == 1
    assert client.get("/api/v1/materials/today", headers=login(org.member_b)).get_json()["items"] == []


def test_publishing_outside_ones_scope_is_refused(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    body = {"title": "越权", "day": "2026-11-23", "publish": True}
    secretary = login(org.secretary_a)
    assert client.post("/api/v1/materials", json=dict(body, audience={"branch_ids": [org.branch_a2.id]}),
                       headers=secretary).status_code == 403
    assert client.post("/api/v1/materials", json=dict(body, audience={"committee_id": org.committee_a.id}),
                       headers=secretary).status_code == 403
    admin = login(org.admin_a)
    assert client.post("/api/v1/materials", json=dict(body, audience={"committee_id": org.committee_b.id}),
                       headers=admin).status_code == 404
    assert client.post("/api/v1/materials", json=dict(body, audience={"branch_ids": [org.branch_b.id]}),
                       headers=admin).status_code == 404
    assert client.post("/api/v1/materials", json=body, headers=login(org.member_a)).status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(Material)) == 0


def test_a_script_in_an_html_body_never_reaches_a_phone(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    body = ('<p onclick="steal()">正文</p><script>alert(document.cookie)</script>'
            '<img src="https://img.example.cn/a.png" onerror="alert(1)"><a href="javascript:alert(2)">链接</a>')
    item = publish(client, login(org.secretary_a), body=body, body_format="html")
    shown = client.get(f"/api/v1/materials/{item['id']}", headers=login(org.member_a)).get_json()["body"]
    for bad in ("<script", "onerror", "onclick", "javascript:", "alert("):
        assert bad not in shown
    assert "<p>正文</p>" in shown and 'src="https://img.example.cn/a.png"' in shown


def test_markdown_is_rendered_and_raw_html_inside_it_sanitized(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), body="# 标题\n\n**加粗**<script>x()</script>")
    assert item["body"].startswith("<h1>标题</h1>") and "<strong>加粗</strong>" in item["body"]
    assert "<script" not in item["body"]


def test_a_draft_and_a_future_item_stay_hidden_until_published_and_their_day(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    secretary, member = login(org.secretary_a), login(org.member_a)
    draft = publish(client, secretary, publish=False)
    scheduled = publish(client, secretary, day="2026-11-24", title="明天的学习")
    assert draft["status"] == "draft"
    seen_by_author = client.get(f"/api/v1/materials/{draft['id']}", headers=secretary).get_json()
    assert seen_by_author["status"] == "draft" and seen_by_author["state"]["completed"] is False
    assert client.get(f"/api/v1/materials/{draft['id']}", headers=member).status_code == 404
    assert client.get("/api/v1/materials/today", headers=member).get_json()["items"] == []
    assert client.get(f"/api/v1/materials/{scheduled['id']}", headers=member).status_code == 404
    assert client.post(f"/api/v1/materials/{draft['id']}/publish", headers=secretary).status_code == 200
    assert len(client.get("/api/v1/materials/today", headers=member).get_json()["items"]) == 1
    frozen("2026-11-24 00:01")
    today = client.get("/api/v1/materials/today", headers=member).get_json()
    assert [i["id"] for i in today["items"]] == [scheduled["id"]]


def test_editing_is_allowed_before_the_day_and_refused_on_it(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    secretary = login(org.secretary_a)
    future = publish(client, secretary, day="2026-11-25")
    edited = client.patch(f"/api/v1/materials/{future['id']}", json={"title": "改过的标题", "tags": ["党史", "理论"]},
                          headers=secretary)
    assert edited.status_code == 200 and edited.get_json()["title"] == "改过的标题"
    assert edited.get_json()["tags"] == ["党史", "理论"]
    current = publish(client, secretary)
    locked = client.patch(f"/api/v1/materials/{current['id']}", json={"title": "x"}, headers=secretary)
    assert locked.status_code == 409 and locked.get_json()["code"] == "material_locked"
    assert client.patch(f"/api/v1/materials/{future['id']}", json={"day": "2026-11-01"},
                        headers=secretary).status_code == 422
    assert client.patch(f"/api/v1/materials/{future['id']}", json={"colour": "red"},
                        headers=secretary).status_code == 422


def test_withdrawal_needs_a_reason_hides_the_item_and_is_audited(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    secretary, member = login(org.secretary_a), login(org.member_a)
    item = publish(client, secretary)
    assert client.post(f"/api/v1/materials/{item['id']}/withdraw", json={}, headers=secretary).status_code == 422
    done = client.post(f"/api/v1/materials/{item['id']}/withdraw", json={"reason": "链接失效"}, headers=secretary)
    assert done.status_code == 200 and done.get_json()["withdrawn_reason"] == "链接失效"
    assert client.get("/api/v1/materials/today", headers=member).get_json()["items"] == []
    assert client.get(f"/api/v1/materials/{item['id']}", headers=member).status_code == 404
    again = client.post(f"/api/v1/materials/{item['id']}/withdraw", json={"reason": "再次"}, headers=secretary)
    assert again.status_code == 409
    from core.audit import AuditEntry
    actions = db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["material.publish", "material.withdraw"]


def test_a_member_cannot_manage_and_another_branch_secretary_gets_403_or_404(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.admin_a), day="2026-11-25", audience={"committee_id": org.committee_a.id})
    url = f"/api/v1/materials/{item['id']}"
    assert client.patch(url, json={"title": "x"}, headers=login(org.member_a)).status_code == 403
    assert client.patch(url, json={"title": "x"}, headers=login(org.secretary_b)).status_code == 404
    assert client.post(url + "/withdraw", json={"reason": "x"}, headers=login(org.admin_b)).status_code == 404


def test_the_archive_filters_by_date_title_and_tag_and_paginates(client, login, org, frozen):
    frozen("2026-11-20 08:00")
    secretary = login(org.secretary_a)
    publish(client, secretary, day="2026-11-20", title="求是：坚定文化自信", tags=["文化"])
    publish(client, secretary, day="2026-11-21", title="新华网：高质量发展", tags=["经济"])
    publish(client, secretary, day="2026-11-22", title="人民网：全面从严治党", tags=["党建", "文化"])
    publish(client, secretary, day="2026-11-30", title="还没到的日子")
    frozen("2026-11-23 08:00")
    member = login(org.member_a)
    everything = client.get("/api/v1/materials", headers=member).get_json()
    assert everything["total"] == 3 and everything["items"][0]["day"] == "2026-11-22"
    by_tag = client.get("/api/v1/materials?tag=文化", headers=member).get_json()
    assert [i["title"] for i in by_tag["items"]] == ["人民网：全面从严治党", "求是：坚定文化自信"]
    by_title = client.get("/api/v1/materials?q=高质量", headers=member).get_json()
    assert [i["title"] for i in by_title["items"]] == ["新华网：高质量发展"]
    ranged = client.get("/api/v1/materials?from=2026-11-21&to=2026-11-21", headers=member).get_json()
    assert ranged["total"] == 1
    paged = client.get("/api/v1/materials?per_page=2&page=2", headers=member).get_json()
    assert len(paged["items"]) == 1 and paged["total"] == 3
    assert client.get("/api/v1/materials?from=2026-11-22&to=2026-11-01", headers=member).status_code == 422
    assert client.get("/api/v1/materials?per_page=0", headers=member).status_code == 422


def test_the_manage_list_shows_drafts_and_withdrawn_items_of_ones_own_scope(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    publish(client, login(org.secretary_a), publish=False)
    publish(client, login(org.secretary_b))
    mine = client.get("/api/v1/manage/materials", headers=login(org.secretary_a)).get_json()
    assert mine["total"] == 1 and mine["items"][0]["status"] == "draft"
    assert client.get("/api/v1/manage/materials?status=draft", headers=login(org.admin_a)).get_json()["total"] == 1
    assert client.get("/api/v1/manage/materials", headers=login(org.member_a)).status_code == 403


PLAN = [
    ["2026-11-24", "学习习近平新时代中国特色社会主义思想", "求是网", "https://www.qstheory.cn/a.htm", "摘要一",
     "正文一", "文章", "5", "理论、思想"],
    ["2026-11-25", "党史学习：遵义会议", "学习强国", "", "", "", "视频", "8", "党史"],
]


def test_a_plan_csv_imports_every_row(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    response = client.post("/api/v1/materials/import", data={"file": csv_upload(PLAN, PLAN_HEADERS)},
                           headers=login(org.secretary_a))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 2
    video = db.session.scalar(db.select(Material).where(Material.title == "党史学习：遵义会议"))
    assert video.kind == "video" and video.estimated_minutes == 8 and video.status == "published"
    assert db.session.scalar(db.select(MaterialAudience.branch_id).where(
        MaterialAudience.material_id == video.id)) == org.branch_a.id


def test_a_plan_with_bad_rows_imports_nothing_and_names_each_row(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    rows = PLAN + [
        ["2026-13-01", "坏日期", "", "", "", "", "文章", "5", ""],
        ["2026-11-20", "已经过去", "", "", "", "", "文章", "5", ""],
        ["2026-11-26", "", "", "ftp://x", "", "", "音频", "0", ""],
        ["2026-11-24", "学习习近平新时代中国特色社会主义思想", "", "", "", "", "文章", "5", ""],
    ]
    response = client.post("/api/v1/materials/import", data={"file": csv_upload(rows, PLAN_HEADERS)},
                           headers=login(org.secretary_a))
    assert response.status_code == 422 and response.get_json()["code"] == "import_rejected"
    errors = {(e["row"], e["column"]) for e in response.get_json()["details"]["errors"]}
    assert errors == {(4, "日期"), (5, "日期"), (6, "标题"), (6, "原文链接"), (6, "类型"), (6, "预计分钟"),
                      (7, "标题")}
    assert db.session.scalar(db.select(db.func.count()).select_from(Material)) == 0


def test_a_plan_xlsx_for_a_chosen_branch_and_a_json_plan_import(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    book = Workbook()
    sheet = book.active
    sheet.append(list(PLAN_HEADERS))
    sheet.append(["2026-11-24", "XLSX 计划", "新华网", None, None, None, "文件", 3, None])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    admin = login(org.admin_a)
    response = client.post(f"/api/v1/materials/import?branch_id={org.branch_a2.id}&publish=false",
                           data={"file": (data, "计划.xlsx")}, headers=admin)
    assert response.status_code == 200, response.get_json()
    item = db.session.get(Material, response.get_json()["ids"][0])
    assert item.status == "draft" and item.kind == "document" and item.branch_id == org.branch_a2.id
    plan = {"audience": {"committee_id": org.committee_a.id},
            "items": [{"title": "JSON 计划一", "day": "2026-11-24", "tags": ["理论"]},
                      {"title": "JSON 计划二", "day": "2026-11-25", "kind": "video", "estimated_minutes": 10}]}
    assert client.post("/api/v1/materials/import-json", json=plan, headers=admin).get_json()["created"] == 2
    bad = {"items": [{"title": "好的", "day": "2026-11-24"}, {"day": "明天", "kind": "音频"}]}
    rejected = client.post("/api/v1/materials/import-json", json=bad, headers=admin)
    assert rejected.status_code == 422
    assert {(e["row"], e["column"]) for e in rejected.get_json()["details"]["errors"]} == {
        (2, "title"), (2, "day"), (2, "kind")}
    assert db.session.scalar(db.select(db.func.count()).select_from(Material)) == 3
