"""Roster imports write members only within the importer's scope, with the role rules of PATCH /members/{id}."""
import pytest

from core.audit import AuditEntry
from core.extensions import db
from members.models import Member
from members.services import ROSTER_HEADERS
from tests.factories import csv_upload


def _import(client, headers, url, rows):
    return client.post(url, data={"file": csv_upload(rows, ROSTER_HEADERS)}, headers=headers)


def _reasons(response):
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == "import_rejected"
    return {(e["row"], e["column"]): e["reason"] for e in response.get_json()["details"]["errors"]}


def _as_stored(member):
    db.session.expire_all()
    stored = db.session.get(Member, member.id)
    return stored.name, stored.branch_id, stored.role


@pytest.mark.parametrize("target", ["member_a2_branch", "secretary_a2", "member_b", "admin_a"])
def test_a_secretarys_roster_cannot_take_over_anyone_outside_their_branch(client, login, org, target):
    victim = getattr(org, target)
    before = _as_stored(victim)
    response = _import(client, login(org.secretary_a), f"/api/v1/branches/{org.branch_a.id}/roster",
                       [["何一", "13900000301", "甲一支部", "", "党员", ""],
                        ["改名", victim.phone, "甲一支部", "", "党员", ""]])
    reasons = _reasons(response)
    assert list(reasons) == [(3, "手机号")]
    assert "其他" in reasons[(3, "手机号")]
    assert _as_stored(victim) == before
    assert db.session.scalar(db.select(Member).where(Member.phone == "13900000301")) is None


def test_a_secretarys_roster_creates_and_keeps_party_members_only(client, login, org):
    url = f"/api/v1/branches/{org.branch_a.id}/roster"
    headers = login(org.secretary_a)
    promote = _import(client, headers, url, [["张三", org.member_a.phone, "甲一支部", "", "支部书记", ""]])
    assert "党委管理员" in _reasons(promote)[(2, "角色")]
    new_secretary = _import(client, headers, url, [["何二", "13900000302", "甲一支部", "", "支部书记", ""]])
    assert (2, "角色") in _reasons(new_secretary)
    demote_self = _import(client, headers, url, [["钱书记", org.secretary_a.phone, "甲一支部", "", "党员", ""]])
    assert (2, "角色") in _reasons(demote_self)
    assert _as_stored(org.member_a)[2] == "member" and _as_stored(org.secretary_a)[2] == "secretary"
    assert db.session.scalar(db.select(Member).where(Member.phone == "13900000302")) is None

    fine = _import(client, headers, url, [["张三丰", org.member_a.phone, "甲一支部", "", "党员", ""],
                                          ["钱书记", org.secretary_a.phone, "甲一支部", "", "支部书记", ""],
                                          ["何三", "13900000303", "甲一支部", "", "党员", ""]])
    assert fine.status_code == 200, fine.get_json()
    assert fine.get_json() == {"created": 1, "updated": 1, "unchanged": 1}
    assert _as_stored(org.member_a) == ("张三丰", org.branch_a.id, "member")


def test_an_admins_roster_moves_members_within_the_subtree_as_an_audited_move(client, login, org):
    response = _import(client, login(org.admin_a), f"/api/v1/committees/{org.committee_a.id}/roster",
                       [["赵六", org.member_a2_branch.phone, "甲一支部", "", "党员", ""]])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["updated"] == 1
    assert _as_stored(org.member_a2_branch) == ("赵六", org.branch_a.id, "member")
    moves = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "member.move")).all()
    assert [(m.target_id, m.actor_id, m.details["from_branch_id"], m.details["to_branch_id"], m.details["via"])
            for m in moves] == [(str(org.member_a2_branch.id), org.admin_a.id, org.branch_a2.id, org.branch_a.id,
                                 "roster")]


def test_an_admins_roster_follows_the_role_rules_of_patch(client, login, org):
    url = f"/api/v1/committees/{org.committee_a.id}/roster"
    headers = login(org.admin_a)
    own = _import(client, headers, url, [["吴管理", org.admin_a.phone, "甲一支部", "", "党员", ""]])
    assert "自己" in _reasons(own)[(2, "角色")]
    assert _as_stored(org.admin_a) == ("吴管理", None, "admin")
    promoted = _import(client, headers, url, [["李四", org.member_a2.phone, "甲一支部", "", "支部书记", ""]])
    assert promoted.status_code == 200
    assert _as_stored(org.member_a2)[2] == "secretary"
    changes = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "member.role_change")).all()
    assert [(c.target_id, c.details["old"], c.details["new"]) for c in changes] == [
        (str(org.member_a2.id), "member", "secretary")]
