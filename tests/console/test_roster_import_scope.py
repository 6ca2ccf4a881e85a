"""The console's roster import holds a secretary to their own branch, as the API does."""
from core.extensions import db
from members.models import Member
from tests import factories


def test_a_secretarys_console_import_refuses_a_member_of_another_branch(org, desk):
    d = desk(org.secretary_a)
    upload = factories.csv_upload([["改名", org.secretary_a2.phone, "甲一支部", "", "党员", ""]],
                                  ["姓名", "手机号", "支部", "党小组", "角色", "入党日期"])
    response = d.post("/console/imports/roster", {"file": upload}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "第 2 行" in html and "其他支部" in html
    db.session.expire_all()
    stored = db.session.get(Member, org.secretary_a2.id)
    assert (stored.name, stored.branch_id, stored.role) == ("周书记", org.branch_a2.id, "secretary")
