"""Roster import: validated as a whole, all rows or none, idempotent by phone."""
import io

import pytest
from openpyxl import Workbook

from core.extensions import db
from members.models import Branch, Member, PartyGroup
from members.services import ROSTER_HEADERS
from tests.factories import csv_upload

GOOD_ROWS = [
    ["陈一", "13900000101", "新建支部", "第一党小组", "党员", "2010-07-01"],
    ["陈二", "139-0000-0102", "新建支部", "", "支部书记", ""],
    ["陈三", "+8613900000103", "甲一支部", "第二党小组", "党员", "2015/03/12"],
]


def _count(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_an_admin_imports_a_committee_roster_twice_and_nothing_changes_the_second_time(client, login, org):
    headers = login(org.admin_a)
    url = f"/api/v1/committees/{org.committee_a.id}/roster"
    first = client.post(url, data={"file": csv_upload(GOOD_ROWS, ROSTER_HEADERS)}, headers=headers)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"created": 3, "updated": 0, "unchanged": 0}
    new_branch = db.session.scalar(db.select(Branch).where(Branch.name == "新建支部"))
    assert new_branch.committee_id == org.committee_a.id
    secretary = db.session.scalar(db.select(Member).where(Member.phone == "13900000102"))
    assert secretary.role == "secretary" and secretary.branch_id == new_branch.id
    assert _count(PartyGroup) == 2
    second = client.post(url, data={"file": csv_upload(GOOD_ROWS, ROSTER_HEADERS)}, headers=headers)
    assert second.get_json() == {"created": 0, "updated": 0, "unchanged": 3}


def test_a_member_missing_from_a_later_file_is_kept(client, login, org):
    headers = login(org.admin_a)
    url = f"/api/v1/committees/{org.committee_a.id}/roster"
    client.post(url, data={"file": csv_upload(GOOD_ROWS, ROSTER_HEADERS)}, headers=headers)
    later = client.post(url, data={"file": csv_upload(GOOD_ROWS[:1], ROSTER_HEADERS)}, headers=headers)
    assert later.get_json()["unchanged"] == 1
    assert db.session.scalar(db.select(Member).where(Member.phone == "13900000103")) is not None


def test_a_file_with_bad_rows_changes_nothing_and_names_each_row(client, login, org):
    headers = login(org.admin_a)
    before = _count(Member)
    rows = GOOD_ROWS + [
        ["", "13900000104", "新建支部", "", "党员", ""],
        ["陈五", "12345", "新建支部", "", "党员", ""],
        ["陈六", "13900000101", "新建支部", "", "党员", ""],
        ["陈七", "13900000107", "新建支部", "", "书记", ""],
        ["陈八", "13900000108", "新建支部", "", "党员", "2099-01-01"],
        ["陈九", "13900000109", "", "", "党员", "昨天"],
    ]
    response = client.post(f"/api/v1/committees/{org.committee_a.id}/roster",
                           data={"file": csv_upload(rows, ROSTER_HEADERS)}, headers=headers)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "import_rejected"
    errors = {(e["row"], e["column"]) for e in body["details"]["errors"]}
    assert errors == {(5, "姓名"), (6, "手机号"), (7, "手机号"), (8, "角色"), (9, "入党日期"), (10, "支部"),
                      (10, "入党日期")}
    assert _count(Member) == before
    assert db.session.scalar(db.select(Branch).where(Branch.name == "新建支部")) is None


def test_xlsx_and_gbk_csv_are_read(client, login, org):
    headers = login(org.admin_a)
    book = Workbook()
    sheet = book.active
    sheet.append(list(ROSTER_HEADERS))
    sheet.append(["林一", 13900000201, "甲一支部", "", "党员", None])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    url = f"/api/v1/committees/{org.committee_a.id}/roster"
    xlsx = client.post(url, data={"file": (data, "名册.xlsx")}, headers=headers)
    assert xlsx.status_code == 200, xlsx.get_json()
    assert xlsx.get_json()["created"] == 1
    gbk = client.post(url, data={"file": csv_upload([["林二", "13900000202", "甲一支部", "", "党员", ""]],
                                                    ROSTER_HEADERS, encoding="gbk")}, headers=headers)
    assert gbk.status_code == 200, gbk.get_json()
    assert db.session.scalar(db.select(Member).where(Member.phone == "13900000202")).name == "林二"


@pytest.mark.parametrize("content, code", [
    (b"", "file_empty"),
    ("姓名,电话\n张,1\n".encode(), "file_headers"),
    (b"PK\x03\x04garbage", "file_corrupt"),
    ("\n".join(["姓名,手机号,支部,党小组,角色,入党日期"]).encode(), "file_empty"),
])
def test_malformed_files_are_clear_errors(client, login, org, content, code):
    headers = login(org.admin_a)
    response = client.post(f"/api/v1/committees/{org.committee_a.id}/roster",
                           data={"file": (io.BytesIO(content), "x.csv")}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["code"] == code


def test_a_missing_file_is_a_validation_error(client, login, org):
    response = client.post(f"/api/v1/committees/{org.committee_a.id}/roster", data={},
                           headers=login(org.admin_a))
    assert response.status_code == 422


def test_a_secretary_imports_only_their_own_branch_and_cannot_make_admins(client, login, org):
    headers = login(org.secretary_a)
    own = client.post(f"/api/v1/branches/{org.branch_a.id}/roster", headers=headers, data={
        "file": csv_upload([["何一", "13900000301", "甲一支部", "", "党员", ""]], ROSTER_HEADERS)})
    assert own.status_code == 200
    wrong = client.post(f"/api/v1/branches/{org.branch_a.id}/roster", headers=headers, data={
        "file": csv_upload([["何二", "13900000302", "甲二支部", "", "党员", ""],
                            ["何三", "13900000303", "甲一支部", "", "党委管理员", ""]], ROSTER_HEADERS)})
    assert wrong.status_code == 422
    assert {e["column"] for e in wrong.get_json()["details"]["errors"]} == {"支部", "角色"}
    other = client.post(f"/api/v1/branches/{org.branch_b.id}/roster", headers=headers, data={
        "file": csv_upload([["何四", "13900000304", "乙一支部", "", "党员", ""]], ROSTER_HEADERS)})
    assert other.status_code == 404
    committee = client.post(f"/api/v1/committees/{org.committee_a.id}/roster", headers=headers, data={
        "file": csv_upload([["何五", "13900000305", "甲一支部", "", "党员", ""]], ROSTER_HEADERS)})
    assert committee.status_code == 403
    assert db.session.scalar(db.select(Member).where(Member.phone.in_(
        ["13900000302", "13900000303", "13900000304", "13900000305"]))) is None


def test_a_phone_registered_in_another_committee_is_not_moved(client, login, org):
    response = client.post(f"/api/v1/committees/{org.committee_a.id}/roster", headers=login(org.admin_a), data={
        "file": csv_upload([["王五", org.member_b.phone, "甲一支部", "", "党员", ""]], ROSTER_HEADERS)})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Member, org.member_b.id).branch_id == org.branch_b.id


def test_an_oversized_upload_is_refused(app, client, login, org):
    headers = login(org.admin_a)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.post(f"/api/v1/committees/{org.committee_a.id}/roster", headers=headers,
                               data={"file": (io.BytesIO(b"x" * 4096), "big.csv")})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 5 * 1024 * 1024
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"
