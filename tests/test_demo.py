"""`flask seed-demo` loads the demo every room contributes, and the logins it prints work."""
from members.demo import DEMO_LOGINS


def test_seed_demo_loads_once_and_its_logins_work(app, client, ctx):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "演示数据已载入" in first.output
    again = runner.invoke(args=["seed-demo"])
    assert "演示数据已存在" in again.output
    roles = {}
    for _label, openid, phone in DEMO_LOGINS:
        assert f"dev:{openid}" in first.output
        response = client.post("/api/v1/auth/wechat", json={"code": f"dev:{openid}"})
        assert response.status_code == 200, response.get_json()
        member = response.get_json()["member"]
        assert member["phone"] == phone
        roles[openid] = member["role"]
    assert roles == {"demo-admin": "admin", "demo-secretary": "secretary", "demo-member": "member"}


def test_org_bootstrap_creates_a_committee_and_its_admin(app, client, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["org", "bootstrap", "--committee", "新建党委", "--admin-name", "新管理",
                                 "--admin-phone", "13812345678"])
    assert result.exit_code == 0, result.output
    duplicate = runner.invoke(args=["org", "bootstrap", "--committee", "新建党委", "--admin-name", "x",
                                    "--admin-phone", "13812345679"])
    assert duplicate.exit_code != 0
    assert "已存在" in duplicate.output
    from core.extensions import db
    from members.models import Member

    admin = db.session.scalar(db.select(Member).where(Member.phone == "13812345678"))
    assert admin.role == "admin"
