"""The question bank through the API: create, edit, retire, scope, import (CSV/XLSX, all or nothing)."""
import io

from openpyxl import Workbook, load_workbook

from core.extensions import db
from quizzes.bank import IMPORT_HEADERS
from quizzes.models import Question
from tests.factories import csv_upload
from tests.quizzes.helpers import make_bank

GOOD_ROWS = [
    ["单选题", "党的根本宗旨是什么？", "全心全意为人民服务", "发展生产力", "实现现代化", "", "", "",
        "A", "党章规定。", "党章、宗旨",
     "易", "党章"],
    ["多选题", "党的建设包括哪些方面？", "政治建设", "思想建设", "组织建设", "作风建设",
        "", "", "ABCD", "", "党建", "中", ""],
    ["判断题", "入党誓词由党章规定。", "", "", "", "", "", "", "正确", "", "党章", "难", ""],
    ["填空题", "中国共产党成立于____年。", "", "", "", "", "", "", "1921|一九二一", "", "党史", "", ""],
]


def _count():
    return db.session.scalar(db.select(db.func.count()).select_from(Question))


def _question_body(**extra):
    body = {"kind": "single", "stem": "党员的先锋模范作用体现在哪里？", "options": ["工作中", "生活中", "学习中"],
            "answer": "A", "explanation": "在各方面发挥作用。", "tags": ["党员"], "difficulty": 2, "source": "教材"}
    body.update(extra)
    return body


def test_an_admin_creates_a_committee_question_that_its_branches_see(client, login, org):
    created = client.post("/api/v1/questions", headers=login(org.admin_a), json=_question_body())
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["committee_id"] == org.committee_a.id and body["branch_id"] is None
    assert body["answer"] == "A" and body["kind_label"] == "单选题" and body["tags"] == ["党员"]
    listed = client.get("/api/v1/questions", headers=login(org.secretary_a)).get_json()
    assert [q["id"] for q in listed["items"]] == [body["id"]]
    assert client.get("/api/v1/questions", headers=login(org.secretary_b)).get_json()["total"] == 0
    assert client.get(f"/api/v1/questions/{body['id']}", headers=login(org.admin_b)).status_code == 404
    assert client.get("/api/v1/questions", headers=login(org.member_a)).status_code == 403


def test_a_secretary_keeps_branch_questions_and_cannot_edit_the_committees(client, login, org):
    shared = make_bank(org.committee_a)[0]
    own = client.post("/api/v1/questions", headers=login(org.secretary_a),
                      json=_question_body(kind="blank", options=[], answer="先锋|模范;作用"))
    assert own.status_code == 201, own.get_json()
    assert own.get_json()["branch_id"] == org.branch_a.id
    assert own.get_json()["answer"] == [["先锋", "模范"], ["作用"]]
    assert client.get(f"/api/v1/questions/{own.get_json()['id']}", headers=login(org.secretary_a2)).status_code == 404
    denied = client.patch(f"/api/v1/questions/{shared.id}", headers=login(org.secretary_a), json={"stem": "改"})
    assert denied.status_code == 403
    assert client.post("/api/v1/questions", headers=login(org.secretary_a),
                       json=_question_body(committee_id=org.committee_a.id)).status_code == 403


def test_bad_question_bodies_are_422_with_fields(client, login, org):
    headers = login(org.admin_a)
    for body, field in [(_question_body(answer="E"), "answer"), (_question_body(options=["只有一个"]), "options"),
                        (_question_body(kind="multiple", answer="A"), "answer"),
                        (_question_body(kind="judge", options=[], answer="也许"), "answer"),
                        (_question_body(role="admin"), "role")]:
        response = client.post("/api/v1/questions", headers=headers, json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["details"]["fields"]
    assert _count() == 0


def test_editing_an_unused_question_rewrites_it_but_a_used_one_is_retired_and_versioned(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.admin_a)
    bank = make_bank(org.committee_a)
    fresh = client.patch(f"/api/v1/questions/{bank[0].id}", headers=headers, json={"explanation": "新的解析"})
    assert fresh.get_json()["id"] == bank[0].id and fresh.get_json()["explanation"] == "新的解析"
    client.post(f"/api/v1/committees/{org.committee_a.id}/quizzes", headers=headers,
                json={"question_ids": [q.id for q in bank]})
    revised = client.patch(f"/api/v1/questions/{bank[1].id}", headers=headers, json={"answer": "ABC"})
    assert revised.status_code == 200
    new = revised.get_json()
    assert new["id"] != bank[1].id and new["answer"] == ["A", "B", "C"] and new["status"] == "active"
    old = db.session.get(Question, bank[1].id)
    db.session.refresh(old)
    assert old.status == "retired" and old.answer == ["A", "B", "C", "D"] and old.replaced_by_id == new["id"]
    retired = client.post(f"/api/v1/questions/{bank[2].id}/retire", headers=headers)
    assert retired.get_json()["status"] == "retired"
    assert client.patch(f"/api/v1/questions/{bank[2].id}", headers=headers, json={"stem": "x"}).status_code == 422
    active = client.get("/api/v1/questions", headers=headers).get_json()
    assert bank[2].id not in {q["id"] for q in active["items"]}


def test_importing_a_csv_adds_every_type(client, login, org):
    response = client.post(f"/api/v1/committees/{org.committee_a.id}/questions/import", headers=login(org.admin_a),
                           data={"file": csv_upload(GOOD_ROWS, IMPORT_HEADERS)})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"created": 4, "by_kind": {"单选题": 1, "多选题": 1, "判断题": 1, "填空题": 1}}
    blank = db.session.scalar(db.select(Question).where(Question.kind == "blank"))
    assert blank.answer == [["1921", "一九二一"]] and blank.difficulty == 2 and blank.tag_list == ["党史"]
    single = db.session.scalar(db.select(Question).where(Question.kind == "single"))
    assert single.tag_list == ["党章", "宗旨"] and single.difficulty == 1 and len(single.options) == 3


def test_an_import_with_bad_rows_writes_nothing_and_names_each_row(client, login, org):
    make_bank(org.committee_a)
    rows = GOOD_ROWS + [
        ["问答题", "什么是党？", "", "", "", "", "", "", "略", "", "", "", ""],
        ["单选题", "", "甲", "乙", "", "", "", "", "A", "", "", "", ""],
        ["单选题", "选项不够的题？", "甲", "", "", "", "", "", "A", "", "", "", ""],
        ["多选题", "答案不对的多选题？", "甲", "乙", "丙", "", "", "", "AZ", "", "", "", ""],
        ["判断题", "判断题答案写错？", "", "", "", "", "", "", "也许", "", "", "", ""],
        ["单选题", "党的根本宗旨是什么?", "甲", "乙", "", "", "", "", "A", "", "", "", ""],
        ["单选题", "党的最高理想是什么？", "甲", "乙", "", "", "", "", "A", "", "", "极难", ""],
        ["填空题", "空的空？", "", "", "", "", "", "", "a;;b", "", "", "", ""],
    ]
    response = client.post(f"/api/v1/branches/{org.branch_a.id}/questions/import", headers=login(org.secretary_a),
                           data={"file": csv_upload(rows, IMPORT_HEADERS)})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "import_rejected"
    errors = {(e["row"], e["column"]) for e in body["details"]["errors"]}
    assert errors == {(6, "题型"), (7, "题干"), (8, "选项A"), (9, "答案"), (10, "答案"), (11, "题干"), (12, "题干"),
                      (12, "难度"), (13, "答案")}
    reasons = {e["row"]: e["reason"] for e in body["details"]["errors"] if e["column"] == "题干"}
    assert "第 2 行" in reasons[11] and "题库中已有" in reasons[12]
    assert _count() == 4  # only the bank made before


def test_an_xlsx_import_and_the_template_round_trip(client, login, org):
    headers = login(org.admin_a)
    template = client.get("/api/v1/questions/template", headers=headers)
    assert template.status_code == 200
    sheet = load_workbook(io.BytesIO(template.data)).active
    assert [c.value for c in sheet[1]] == list(IMPORT_HEADERS)
    book = Workbook()
    book.active.append(list(IMPORT_HEADERS))
    for row in sheet.iter_rows(min_row=2, values_only=True):
        book.active.append(list(row))
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    response = client.post(f"/api/v1/committees/{org.committee_a.id}/questions/import", headers=headers,
                           data={"file": (data, "题库.xlsx")})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 4
    blank = db.session.scalar(db.select(Question).where(Question.kind == "blank"))
    assert blank.answer == [["1921"], ["上海", "嘉兴"]]


def test_importing_into_another_committee_or_branch_is_refused(client, login, org):
    upload = {"file": csv_upload(GOOD_ROWS, IMPORT_HEADERS)}
    assert client.post(f"/api/v1/committees/{org.committee_b.id}/questions/import", headers=login(org.admin_a),
                       data=upload).status_code == 404
    upload = {"file": csv_upload(GOOD_ROWS, IMPORT_HEADERS)}
    assert client.post(f"/api/v1/branches/{org.branch_a2.id}/questions/import", headers=login(org.secretary_a),
                       data=upload).status_code == 404
    assert _count() == 0
