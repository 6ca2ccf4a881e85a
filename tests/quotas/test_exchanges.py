"""Exchanges: recorded or proposed, speakers and attendees, phone check-in with a short code."""
from core import clock
from core.extensions import db
from learning.models import PointEntry
from notifications.jobs import JOBS


def _quota(client, login, who, year=2026):
    return client.get(f"/api/v1/me/quota?year={year}", headers=login(who)).get_json()


def _code(client, login, who, exchange_id):
    response = client.get(f"/api/v1/exchanges/{exchange_id}/check-in-code", headers=login(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_secretary_records_an_exchange_and_the_speakers_talk_counts(client, login, org, frozen, make_exchange):
    frozen("2026-11-23 18:00")  # recorded once held: it counts, and pays, at once
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a])
    assert exchange["status"] == "approved" and exchange["year"] == 2026
    assert [s["name"] for s in exchange["speakers"]] == ["张三"]
    mine = _quota(client, login, org.member_a)
    assert mine["given"] == 1 and mine["talks"][0]["counts"] is True
    assert db.session.scalar(db.select(PointEntry.points).where(PointEntry.rule == "quota_talk_given")) == 10


def test_a_member_proposes_and_it_counts_only_once_approved(client, login, org, frozen, make_exchange):
    frozen("2026-11-24 08:00")  # proposed after it was held
    proposal = make_exchange(org.member_a, speakers=[org.member_a])
    assert proposal["status"] == "pending"
    assert _quota(client, login, org.member_a)["given"] == 0
    # Other members do not see a proposal; its proposer and the secretary do.
    assert client.get(f"/api/v1/exchanges/{proposal['id']}", headers=login(org.member_a2)).status_code == 404
    queue = client.get("/api/v1/exchanges?status=pending", headers=login(org.secretary_a)).get_json()
    assert [e["id"] for e in queue["items"]] == [proposal["id"]]
    assert client.post(f"/api/v1/exchanges/{proposal['id']}/review", json={"approve": True},
                       headers=login(org.member_a)).status_code == 403
    assert client.post(f"/api/v1/exchanges/{proposal['id']}/review", json={"approve": True},
                       headers=login(org.secretary_b)).status_code == 404
    approved = client.post(f"/api/v1/exchanges/{proposal['id']}/review", json={"approve": True},
                           headers=login(org.secretary_a))
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert _quota(client, login, org.member_a)["given"] == 1
    again = client.post(f"/api/v1/exchanges/{proposal['id']}/review", json={"approve": True},
                        headers=login(org.secretary_a))
    assert again.status_code == 409


def test_a_rejected_proposal_needs_a_reason_and_never_counts(client, login, org, frozen, make_exchange):
    frozen("2026-11-20 08:00")
    proposal = make_exchange(org.member_a, speakers=[org.member_a])
    url = f"/api/v1/exchanges/{proposal['id']}/review"
    assert client.post(url, json={"approve": False}, headers=login(org.secretary_a)).status_code == 422
    rejected = client.post(url, json={"approve": False, "reason": "内容与专业无关"}, headers=login(org.secretary_a))
    assert rejected.get_json()["status"] == "rejected"
    mine = _quota(client, login, org.member_a)
    assert mine["given"] == 0 and mine["talks"][0]["status"] == "rejected" and not mine["talks"][0]["counts"]


def test_exchange_input_is_checked(client, login, org, make_exchange):
    make_exchange(org.secretary_a, speakers=[org.member_a], starts="2026-11-23T16:00:00",
                  ends="2026-11-23T14:00:00", expect=422)
    make_exchange(org.secretary_a, speakers=[org.member_a], place=None, expect=422)
    make_exchange(org.secretary_a, speakers=[org.member_b], expect=422)  # a speaker from another committee
    make_exchange(org.secretary_a, speakers=[], expect=422)
    make_exchange(org.secretary_a, speakers=[org.member_a], score=5, expect=422)
    guest = make_exchange(org.secretary_a, guest_speakers="外请专家 刘工", online_url="https://meeting.example.com/1")
    assert guest["guest_speakers"] == "外请专家 刘工"
    response = client.post("/api/v1/exchanges", json={"branch_id": org.branch_b.id, "title": "越权", "place": "x",
                                                      "starts_at": "2026-11-23T14:00:00",
                                                      "ends_at": "2026-11-23T15:00:00", "guest_speakers": "某"},
                           headers=login(org.secretary_a))
    assert response.status_code == 404


def test_a_secretary_of_another_branch_is_refused(client, login, org, make_exchange):
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a])
    for who in (org.secretary_a2, org.secretary_b, org.admin_b):
        headers = login(who)
        assert client.get(f"/api/v1/exchanges/{exchange['id']}/check-in-code", headers=headers).status_code == 404
        assert client.post(f"/api/v1/exchanges/{exchange['id']}/attendance", json={"member_ids": [org.member_a2.id]},
                           headers=headers).status_code == 404
        assert client.patch(f"/api/v1/exchanges/{exchange['id']}", json={"title": "改个名称"},
                            headers=headers).status_code == 404
    assert client.get(f"/api/v1/exchanges/{exchange['id']}/check-in-code",
                      headers=login(org.member_a2)).status_code == 403
    assert client.get(f"/api/v1/exchanges/{exchange['id']}/check-in-code",
                      headers=login(org.admin_a)).status_code == 200


def test_check_in_with_the_code_inside_the_window_once(client, login, org, frozen, make_exchange):
    frozen("2026-11-23 08:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a])
    code = _code(client, login, org.secretary_a, exchange["id"])
    assert code["qr_payload"] == f"bs-checkin:{exchange['id']}:{code['code']}"
    url = f"/api/v1/exchanges/{exchange['id']}/check-in"

    early = client.post(url, json={"code": code["code"]}, headers=login(org.member_a2))
    assert early.status_code == 409 and early.get_json()["code"] == "checkin_not_open"

    frozen("2026-11-23 14:30")
    first = client.post(url, json={"code": code["code"]}, headers=login(org.member_a2))
    assert first.status_code == 200 and first.get_json()["first_time"] is True
    double = client.post(url, json={"code": code["code"]}, headers=login(org.member_a2))
    assert double.status_code == 200 and double.get_json()["first_time"] is False
    under_way = _quota(client, login, org.member_a2)
    assert (under_way["attended"], under_way["attended_scheduled"]) == (0, 1)  # counts once the exchange is over

    speaker = client.post(url, json={"code": code["code"]}, headers=login(org.member_a))
    assert speaker.status_code == 409 and speaker.get_json()["code"] == "speaker_not_attendee"
    assert _quota(client, login, org.member_a)["attended"] == 0

    frozen("2026-11-23 16:20")  # past the end and the 15-minute margin: the code has expired
    late = client.post(url, json={"code": code["code"]}, headers=login(org.secretary_a))
    assert late.status_code == 409 and late.get_json()["code"] == "checkin_closed"
    assert "过期" in late.get_json()["message"]
    assert _quota(client, login, org.member_a2)["attended"] == 1
    db.session.rollback()
    JOBS["quota_settle"](clock.now())
    assert db.session.scalar(db.select(db.func.count()).select_from(PointEntry)
                             .where(PointEntry.rule == "quota_exchange_attended")) == 1


def test_guessing_codes_is_refused_then_rate_limited(client, login, org, frozen, make_exchange):
    frozen("2026-11-23 14:30")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a])
    real = _code(client, login, org.secretary_a, exchange["id"])["code"]
    url = f"/api/v1/exchanges/{exchange['id']}/check-in"
    guesses = [f"{n:06d}" for n in range(20) if f"{n:06d}" != real][:5]
    for guess in guesses:
        wrong = client.post(url, json={"code": guess}, headers=login(org.member_a2))
        assert wrong.status_code == 422 and wrong.get_json()["code"] == "checkin_code_wrong"
    blocked = client.post(url, json={"code": real}, headers=login(org.member_a2))
    assert blocked.status_code == 429 and blocked.get_json()["code"] == "rate_limited"
    assert blocked.get_json()["message"]
    # Another member is not affected by one member's guessing.
    assert client.post(url, json={"code": real}, headers=login(org.secretary_a)).status_code == 200


def test_a_secretary_marks_attendance_idempotently(client, login, org, frozen, make_exchange):
    frozen("2026-11-23 18:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a])
    url = f"/api/v1/exchanges/{exchange['id']}/attendance"
    headers = login(org.secretary_a)
    first = client.post(url, json={"member_ids": [org.member_a2.id, org.secretary_a.id]}, headers=headers)
    assert first.get_json() == {"added": 2, "already": 0}
    again = client.post(url, json={"member_ids": [org.member_a2.id]}, headers=headers)
    assert again.get_json() == {"added": 0, "already": 1}
    assert client.post(url, json={"member_ids": [org.member_a.id]}, headers=headers).status_code == 409
    assert client.post(url, json={"member_ids": [org.member_a2_branch.id]}, headers=headers).status_code == 422
    listed = client.get(url, headers=headers).get_json()
    assert sorted(a["name"] for a in listed) == ["李四", "钱书记"] and {a["via"] for a in listed} == {"secretary"}
    removed = client.delete(f"{url}/{org.member_a2.id}", headers=headers)
    assert removed.status_code == 200
    assert _quota(client, login, org.member_a2)["attended"] == 0
    total = db.session.scalar(db.select(db.func.sum(PointEntry.points)).where(PointEntry.member_id == org.member_a2.id))
    assert total == 0


def test_a_shared_exchange_is_open_to_the_committees_branches(client, login, org, frozen, make_exchange):
    frozen("2026-11-23 14:10")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a], shared=True)
    code = _code(client, login, org.secretary_a, exchange["id"])["code"]
    url = f"/api/v1/exchanges/{exchange['id']}/check-in"
    assert client.post(url, json={"code": code}, headers=login(org.member_a2_branch)).status_code == 200
    assert client.post(url, json={"code": code}, headers=login(org.member_b)).status_code == 404
    listed = client.get("/api/v1/exchanges?year=2026", headers=login(org.member_a2_branch)).get_json()
    assert [e["id"] for e in listed["items"]] == [exchange["id"]]
    assert client.get("/api/v1/exchanges", headers=login(org.member_b)).get_json()["total"] == 0


def test_the_year_of_an_exchange_is_its_beijing_year(client, login, org, frozen, make_exchange):
    frozen("2027-01-01 02:00")
    late = make_exchange(org.secretary_a, speakers=[org.member_a], starts="2026-12-31T15:30:00Z",
                         ends="2026-12-31T15:50:00Z")
    early = make_exchange(org.secretary_a, speakers=[org.member_a2], starts="2026-12-31T16:10:00Z",
                          ends="2026-12-31T17:00:00Z")
    assert late["year"] == 2026 and early["year"] == 2027
    assert _quota(client, login, org.member_a, 2026)["given"] == 1
    assert _quota(client, login, org.member_a2, 2026)["given"] == 0
    assert _quota(client, login, org.member_a2, 2027)["given"] == 1


def test_editing_speakers_moves_the_talk_and_its_points(client, login, org, frozen, make_exchange):
    frozen("2026-11-23 18:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a])
    changed = client.patch(f"/api/v1/exchanges/{exchange['id']}", json={"speaker_ids": [org.member_a2.id]},
                           headers=login(org.secretary_a))
    assert changed.status_code == 200 and [s["member_id"] for s in changed.get_json()["speakers"]] == [
        org.member_a2.id]
    assert _quota(client, login, org.member_a)["given"] == 0
    assert _quota(client, login, org.member_a2)["given"] == 1
    points = dict(db.session.execute(db.select(PointEntry.member_id, db.func.sum(PointEntry.points))
                                     .group_by(PointEntry.member_id)).all())
    assert points == {org.member_a.id: 0, org.member_a2.id: 10}
    assert client.patch(f"/api/v1/exchanges/{exchange['id']}", json={"title": "改个名称"},
                        headers=login(org.member_a)).status_code == 403
    assert clock.now()  # the clock stayed frozen through the requests


def test_a_retried_create_returns_the_same_exchange(client, login, org, frozen, make_exchange):
    frozen("2026-11-23 18:00")
    first = make_exchange(org.secretary_a, speakers=[org.member_a])
    retry = make_exchange(org.secretary_a, speakers=[org.member_a], expect=200)
    assert retry["id"] == first["id"]
    assert client.get("/api/v1/exchanges", headers=login(org.secretary_a)).get_json()["total"] == 1
    assert _quota(client, login, org.member_a)["given"] == 1
    clash = make_exchange(org.member_a2, speakers=[org.member_a2], expect=409)
    assert clash["code"] == "exchange_exists"
