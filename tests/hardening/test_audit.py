"""The audit trail: secretary and admin actions are recorded with who, when and what; admins read it;
nobody edits it."""
import io

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
from tests import factories
from tests.quizzes.helpers import make_bank

REFLECTION = "读后感：这本书讲述了老一辈共产党人的理想信念，让我深受教育，今后要在本职岗位上践行初心使命。" * 3


def _actions(client, org, login):
    """Perform one of each audited action through the API, as secretaries and admins do."""
    secretary, admin, member = login(org.secretary_a), login(org.admin_a), login(org.member_a)
    csv = "姓名,手机号,支部,党小组,角色,入党日期\n新党员,13700000009,甲一支部,,党员,\n".encode("utf-8-sig")
    assert client.post(f"/api/v1/branches/{org.branch_a.id}/roster", headers=secretary,
                       data={"file": (io.BytesIO(csv), "r.csv")}, content_type="multipart/form-data").status_code == 200
    assert client.patch(f"/api/v1/members/{org.member_a2.id}", headers=admin,
                        json={"role": "secretary"}).status_code == 200
    assert client.post("/api/v1/materials", headers=secretary, json={
        "title": "学习党章", "day": "2026-11-23", "publish": True}).status_code == 201
    make_bank(org.committee_a)
    assert client.post(f"/api/v1/branches/{org.branch_a.id}/reminders", headers=secretary,
                       json={"kind": "reading"}).status_code in (200, 201, 202)
    proposal = client.post("/api/v1/exchanges", headers=member, json={
        "title": "读书分享", "starts_at": "2026-11-25T14:00:00", "ends_at": "2026-11-25T15:00:00",
        "place": "会议室", "speaker_ids": [org.member_a.id]})
    assert proposal.status_code in (200, 201), proposal.get_json()
    assert client.post(f"/api/v1/exchanges/{proposal.get_json()['id']}/review", headers=secretary,
                       json={"approve": True}).status_code == 200
    assert client.post(f"/api/v1/exchanges/{proposal.get_json()['id']}/cancel", headers=secretary,
                       json={"reason": "主讲人临时出差"}).status_code == 200
    books = [client.post("/api/v1/me/books", headers=member, json={
        "title": title, "author": "作者", "finished_on": "2026-10-08", "reflection": REFLECTION}).get_json()
             for title in ("红岩", "平凡的世界")]
    assert client.post(f"/api/v1/books/{books[0]['id']}/review", headers=secretary,
                       json={"approve": True}).status_code == 200
    assert client.post(f"/api/v1/books/{books[1]['id']}/review", headers=secretary,
                       json={"approve": False, "reason": "读后感与书无关"}).status_code == 200


AUDITED = ["roster.import", "member.role_change", "material.publish", "notifications.branch_reminder",
           "quota.exchange_approve", "quota.exchange_cancel", "quota.book_approve", "quota.book_reject"]


def test_every_secretary_and_admin_action_is_recorded_with_who_when_what(ctx, client, org, login, frozen):
    frozen("2026-11-23 09:00")
    _actions(client, org, login)
    entries = db.session.scalars(select(AuditEntry)).all()
    by_action = {e.action: e for e in entries}
    missing = [a for a in AUDITED if a not in by_action]
    assert not missing, f"actions without an audit entry: {missing}"
    for action in AUDITED:
        entry = by_action[action]
        assert entry.actor_id in (org.secretary_a.id, org.admin_a.id), action
        assert entry.at is not None and entry.committee_id == org.committee_a.id, action
        assert entry.target_type, action


def test_admins_read_their_subtree_paginated_and_filtered_others_cannot(ctx, client, org, login, frozen):
    frozen("2026-11-23 09:00")
    _actions(client, org, login)
    url = f"/api/v1/committees/{org.committee_a.id}/audit"
    page = client.get(url, headers=login(org.admin_a), query_string={"per_page": 3}).get_json()
    assert page["total"] >= len(AUDITED) and len(page["items"]) == 3
    assert page["items"][0]["actor_name"] in ("钱书记", "吴管理") and page["items"][0]["at"]
    only = client.get(url, headers=login(org.admin_a), query_string={"action": "member.role_change"}).get_json()
    assert [e["action"] for e in only["items"]] == ["member.role_change"]
    assert only["items"][0]["actor_id"] == org.admin_a.id
    mine = client.get(url, headers=login(org.admin_a), query_string={"actor_id": org.secretary_a.id}).get_json()
    assert mine["total"] >= 5 and {e["actor_id"] for e in mine["items"]} == {org.secretary_a.id}
    assert client.get(url, headers=login(org.admin_b)).status_code == 404
    assert client.get(url, headers=login(org.secretary_a)).status_code == 403
    assert client.get(f"/api/v1/committees/{org.committee_b.id}/audit",
                      headers=login(org.admin_b)).get_json()["total"] == 0


def test_a_parent_committee_admin_reads_the_child_committees_trail(ctx, client, org, login, frozen):
    frozen("2026-11-23 09:00")
    parent = factories.committee("集团党委")
    child = factories.committee("分公司党委", parent)
    branch = factories.branch(child, "分公司第一支部")
    secretary = factories.member(branch, "secretary")
    factories.member(branch)
    top = factories.member(None, "admin", committee=parent)
    assert client.post(f"/api/v1/branches/{branch.id}/reminders", headers=login(secretary),
                       json={"kind": "reading"}).status_code in (200, 201, 202)
    page = client.get(f"/api/v1/committees/{parent.id}/audit", headers=login(top)).get_json()
    assert [e["action"] for e in page["items"]] == ["notifications.branch_reminder"]


def test_audit_entries_are_never_editable(app, ctx, client, org, login):
    """No route changes the trail, and the ORM refuses updates and deletes."""
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods - {"GET", "HEAD", "OPTIONS"} == set(), rule.rule
    for method in ("put", "patch", "delete", "post"):
        response = getattr(client, method)(f"/api/v1/committees/{org.committee_a.id}/audit", headers=login(org.admin_a))
        assert response.status_code == 405
    from core import audit
    audit.record(org.admin_a, "test.action", "member", org.member_a.id, note="原始")
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry)).one()
    entry.action = "tampered"
    with pytest.raises(RuntimeError):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(RuntimeError):
        db.session.delete(db.session.get(AuditEntry, entry.id))
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry.id).action == "test.action"
