"""Nobody approves their own talk: a manager speaking at their own exchange waits for another manager's review."""
from core.extensions import db
from learning.models import PointEntry


def _talk_points(member):
    return db.session.scalar(db.select(db.func.coalesce(db.func.sum(PointEntry.points), 0))
                             .where(PointEntry.member_id == member.id, PointEntry.rule == "quota_talk_given"))


def test_a_secretarys_back_dated_talk_of_their_own_is_not_approved_by_them(client, login, org, frozen, make_exchange):
    frozen("2026-11-30 10:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.secretary_a], starts="2026-11-23T14:00:00",
                             ends="2026-11-23T14:05:00")
    assert exchange["status"] == "pending"
    assert _talk_points(org.secretary_a) == 0
    mine = client.get("/api/v1/me/quota?year=2026", headers=login(org.secretary_a)).get_json()
    assert mine["given"] == 0 and mine["talks"][0]["status"] == "pending"

    url = f"/api/v1/exchanges/{exchange['id']}/review"
    own = client.post(url, json={"approve": True}, headers=login(org.secretary_a))
    assert own.status_code == 403 and own.get_json()["code"] == "own_exchange"
    assert "上级" in own.get_json()["message"]
    assert _talk_points(org.secretary_a) == 0

    approved = client.post(url, json={"approve": True}, headers=login(org.admin_a))
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert _talk_points(org.secretary_a) == 10
    assert client.get("/api/v1/me/quota?year=2026", headers=login(org.secretary_a)).get_json()["given"] == 1


def test_a_secretary_cannot_approve_a_proposal_that_makes_them_the_speaker(client, login, org, frozen,
                                                                           make_exchange):
    frozen("2026-11-30 10:00")
    proposal = make_exchange(org.member_a, speakers=[org.secretary_a, org.member_a], starts="2026-11-23T14:00:00",
                             ends="2026-11-23T15:00:00")
    url = f"/api/v1/exchanges/{proposal['id']}/review"
    own = client.post(url, json={"approve": True}, headers=login(org.secretary_a))
    assert own.status_code == 403 and own.get_json()["code"] == "own_exchange"
    assert client.post(url, json={"approve": True}, headers=login(org.admin_a)).status_code == 200
    assert _talk_points(org.secretary_a) == 10


def test_a_secretary_cannot_add_themself_to_an_approved_exchange(client, login, org, frozen, make_exchange):
    frozen("2026-11-30 10:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a], starts="2026-11-23T14:00:00",
                             ends="2026-11-23T15:00:00")
    assert exchange["status"] == "approved"
    changed = client.patch(f"/api/v1/exchanges/{exchange['id']}",
                           json={"speaker_ids": [org.member_a.id, org.secretary_a.id]}, headers=login(org.secretary_a))
    assert changed.status_code == 403 and changed.get_json()["code"] == "own_exchange"
    db.session.expire_all()
    assert _talk_points(org.secretary_a) == 0
    detail = client.get(f"/api/v1/exchanges/{exchange['id']}", headers=login(org.secretary_a)).get_json()
    assert [s["member_id"] for s in detail["speakers"]] == [org.member_a.id]
    # An admin above the branch may add the secretary: someone else approved it.
    added = client.patch(f"/api/v1/exchanges/{exchange['id']}",
                         json={"speaker_ids": [org.member_a.id, org.secretary_a.id]}, headers=login(org.admin_a))
    assert added.status_code == 200
    assert _talk_points(org.secretary_a) == 10
