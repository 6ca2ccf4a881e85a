"""Cancelling an exchange: by its managers, or withdrawn by its proposer while pending; then nothing of it counts."""
import csv
import io
import threading

from core import clock
from core.audit import AuditEntry
from core.extensions import db
from learning.models import PointEntry
from notifications.jobs import JOBS
from quotas.models import Attendance, Exchange


def _cancel(client, login, who, exchange_id, **body):
    return client.post(f"/api/v1/exchanges/{exchange_id}/cancel", json=body, headers=login(who))


def _quota(client, login, who):
    return client.get("/api/v1/me/quota?year=2026", headers=login(who)).get_json()


def _points(member):
    return db.session.scalar(db.select(db.func.coalesce(db.func.sum(PointEntry.points), 0))
                             .where(PointEntry.member_id == member.id))


def _cancel_audits(exchange_id):
    return db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "quota.exchange_cancel",
                                                          AuditEntry.target_id == str(exchange_id))).all()


def _held(client, login, org, frozen, make_exchange):
    """An exchange that took place: member A spoke, A2 checked in by code, the secretary marked herself present."""
    frozen("2026-11-23 08:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a])
    code = client.get(f"/api/v1/exchanges/{exchange['id']}/check-in-code", headers=login(org.secretary_a))
    frozen("2026-11-23 14:30")
    checked = client.post(f"/api/v1/exchanges/{exchange['id']}/check-in", json={"code": code.get_json()["code"]},
                          headers=login(org.member_a2))
    assert checked.status_code == 200, checked.get_json()
    client.post(f"/api/v1/exchanges/{exchange['id']}/attendance", json={"member_ids": [org.secretary_a.id]},
                headers=login(org.secretary_a))
    frozen("2026-11-23 16:05")  # over: the settle job pays what was held
    db.session.rollback()
    JOBS["quota_settle"](clock.now())
    return exchange, code.get_json()["code"]


def test_a_secretary_cancels_a_held_exchange_and_its_counts_leave_progress_board_and_export(
        client, login, org, frozen, make_exchange):
    exchange, _ = _held(client, login, org, frozen, make_exchange)
    board_url = f"/api/v1/branches/{org.branch_a.id}/quota-board?year=2026"
    before = {r["name"]: r for r in client.get(board_url, headers=login(org.member_a2)).get_json()["members"]}
    assert (before["张三"]["given"], before["李四"]["attended"], before["钱书记"]["attended"]) == (1, 1, 1)
    assert (_points(org.member_a), _points(org.member_a2)) == (10, 3)
    posting = client.post(f"/api/v1/branches/{org.branch_a.id}/quota-postings", json={},
                          headers=login(org.secretary_a)).get_json()

    frozen("2026-11-23 18:00")  # over, with check-ins: cancelling it rewrites what counted, so a reason is required
    bare = _cancel(client, login, org.secretary_a, exchange["id"])
    assert bare.status_code == 422 and "reason" in bare.get_json()["details"]["fields"]
    assert db.session.get(Exchange, exchange["id"]).status == "approved"  # nothing half-written

    cancelled = _cancel(client, login, org.secretary_a, exchange["id"], reason="主讲人材料涉密，改期另行安排")
    assert cancelled.status_code == 200, cancelled.get_json()
    body = cancelled.get_json()
    assert body["status"] == "cancelled" and body["status_label"] == "已取消"
    assert (body["cancel_reason"] == "主讲人材料涉密，改期另行安排"
            and body["cancelled_at"].startswith("2026-11-23T10:00"))

    speaker, attendee = _quota(client, login, org.member_a), _quota(client, login, org.member_a2)
    assert speaker["given"] == 0 and speaker["talks"][0]["status"] == "cancelled"
    assert speaker["talks"][0]["counts"] is False
    assert attendee["attended"] == 0 and attendee["attendance"][0]["counts"] is False
    after = {r["name"]: r for r in client.get(board_url, headers=login(org.member_a2)).get_json()["members"]}
    assert (after["张三"]["given"], after["李四"]["attended"], after["钱书记"]["attended"]) == (0, 0, 0)
    export = client.get(f"/api/v1/branches/{org.branch_a.id}/quota-board/export?year=2026&format=csv",
                        headers=login(org.secretary_a))
    rows = {r[0]: r for r in csv.reader(io.StringIO(export.data.decode("utf-8-sig")))}
    assert rows["张三"][2:4] == ["0", "0"] and rows["李四"][2:4] == ["0", "0"]

    # The ledger keeps what was earned and adds what takes it back.
    assert (_points(org.member_a), _points(org.member_a2), _points(org.secretary_a)) == (0, 0, 0)
    entries = db.session.scalars(db.select(PointEntry).where(PointEntry.member_id == org.member_a.id)
                                 .order_by(PointEntry.id)).all()
    assert [(e.points, e.event_key) for e in entries] == [
        (10, f"quota:talk:{exchange['id']}:{org.member_a.id}"),
        (-10, f"revoke:quota:talk:{exchange['id']}:{org.member_a.id}")]
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 2  # the record stays

    audit = _cancel_audits(exchange["id"])
    assert len(audit) == 1 and audit[0].actor_id == org.secretary_a.id and audit[0].at is not None
    assert audit[0].details["reason"] == "主讲人材料涉密，改期另行安排" and audit[0].details["was"] == "approved"
    assert audit[0].details["attendee_count"] == 2 and audit[0].details["speaker_ids"] == [org.member_a.id]

    # The members still see it, marked cancelled; the status filter finds it; the month's posting stays as posted.
    listed = client.get("/api/v1/exchanges?status=cancelled", headers=login(org.member_a2)).get_json()
    assert [(e["id"], e["status"]) for e in listed["items"]] == [(exchange["id"], "cancelled")]
    assert client.get("/api/v1/exchanges?status=approved", headers=login(org.member_a2)).get_json()["total"] == 0
    shown = client.get(f"/api/v1/exchanges/{exchange['id']}", headers=login(org.member_a2)).get_json()
    assert shown["status"] == "cancelled" and shown["checked_in"] is True
    frozen_rows = client.get(f"/api/v1/branches/{org.branch_a.id}/quota-postings/{posting['id']}",
                             headers=login(org.member_a)).get_json()["rows"]
    assert {r["name"]: r["given"] for r in frozen_rows}["张三"] == 1


def test_after_a_cancel_check_in_edits_and_attendance_are_refused_with_409(client, login, org, frozen,
                                                                            make_exchange):
    frozen("2026-11-23 08:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a])
    code = client.get(f"/api/v1/exchanges/{exchange['id']}/check-in-code",
                      headers=login(org.secretary_a)).get_json()["code"]
    assert _cancel(client, login, org.secretary_a, exchange["id"]).status_code == 200  # not begun: no reason needed

    frozen("2026-11-23 14:30")
    url = f"/api/v1/exchanges/{exchange['id']}"
    refused = [
        client.post(f"{url}/check-in", json={"code": code}, headers=login(org.member_a2)),
        client.get(f"{url}/check-in-code", headers=login(org.secretary_a)),
        client.patch(url, json={"title": "改期后的交流"}, headers=login(org.secretary_a)),
        client.post(f"{url}/attendance", json={"member_ids": [org.member_a2.id]}, headers=login(org.secretary_a)),
        client.delete(f"{url}/attendance/{org.member_a2.id}", headers=login(org.secretary_a)),
        client.post(f"{url}/review", json={"approve": True}, headers=login(org.secretary_a)),
    ]
    for response in refused:
        assert response.status_code == 409, response.get_json()
        assert response.get_json()["code"] == "exchange_cancelled" and response.get_json()["message"] == "该交流已取消"
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 0
    assert db.session.get(Exchange, exchange["id"]).title == "微服务架构实践交流"
    assert _quota(client, login, org.member_a2)["attended"] == 0
    # A retried create of the same exchange does not hand the cancelled one back as if it were made.
    again = make_exchange(org.secretary_a, speakers=[org.member_a], expect=409)
    assert again["code"] == "exchange_cancelled" and again["details"]["exchange_id"] == exchange["id"]


def test_a_member_withdraws_their_own_pending_proposal(client, login, org, frozen, make_exchange):
    frozen("2026-11-20 08:00")
    proposal = make_exchange(org.member_a, speakers=[org.member_a])
    withdrawn = _cancel(client, login, org.member_a, proposal["id"])
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "cancelled"
    assert withdrawn.get_json()["cancel_reason"] is None

    mine = client.get("/api/v1/exchanges", headers=login(org.member_a)).get_json()
    assert [(e["id"], e["status"]) for e in mine["items"]] == [(proposal["id"], "cancelled")]
    assert _quota(client, login, org.member_a)["talks"][0]["status"] == "cancelled"
    # A withdrawn proposal was never public: the branch's other members still do not see it; the secretary does.
    assert client.get(f"/api/v1/exchanges/{proposal['id']}", headers=login(org.member_a2)).status_code == 404
    assert client.get("/api/v1/exchanges", headers=login(org.member_a2)).get_json()["total"] == 0
    queue = client.get("/api/v1/exchanges?status=pending", headers=login(org.secretary_a)).get_json()
    assert queue["total"] == 0
    assert client.get("/api/v1/exchanges?status=cancelled",
                      headers=login(org.secretary_a)).get_json()["total"] == 1

    assert client.patch(f"/api/v1/exchanges/{proposal['id']}", json={"title": "再改一下"},
                        headers=login(org.member_a)).status_code == 409
    again = _cancel(client, login, org.member_a, proposal["id"], reason="再撤一次")
    assert again.status_code == 200 and again.get_json()["cancel_reason"] is None
    audit = _cancel_audits(proposal["id"])
    assert len(audit) == 1 and audit[0].actor_id == org.member_a.id and audit[0].details["was"] == "pending"


def test_a_member_cannot_cancel_someone_elses_or_an_approved_exchange(client, login, org, frozen, make_exchange):
    frozen("2026-11-24 08:00")  # the day after the exchanges: what was approved has been held
    others = make_exchange(org.member_a2, speakers=[org.member_a2], title="别人的提议")
    assert _cancel(client, login, org.member_a, others["id"]).status_code == 404  # not theirs to see

    mine = make_exchange(org.member_a, speakers=[org.member_a])
    client.post(f"/api/v1/exchanges/{mine['id']}/review", json={"approve": True}, headers=login(org.secretary_a))
    approved_own = _cancel(client, login, org.member_a, mine["id"])
    assert approved_own.status_code == 403 and approved_own.get_json()["code"] == "forbidden"
    recorded = make_exchange(org.secretary_a, speakers=[org.member_a2], title="书记登记的交流")
    assert _cancel(client, login, org.member_a, recorded["id"]).status_code == 403

    assert db.session.get(Exchange, others["id"]).status == "pending"
    assert db.session.get(Exchange, mine["id"]).status == "approved"
    assert db.session.get(Exchange, recorded["id"]).status == "approved"
    assert _quota(client, login, org.member_a)["given"] == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "quota.exchange_cancel")) == 0

    rejected = make_exchange(org.member_a2, speakers=[org.member_a2], title="被退回的提议")
    client.post(f"/api/v1/exchanges/{rejected['id']}/review", json={"approve": False, "reason": "与专业无关"},
                headers=login(org.secretary_a))
    refused = _cancel(client, login, org.secretary_a, rejected["id"])
    assert refused.status_code == 409 and refused.get_json()["code"] == "exchange_rejected"


def test_managers_of_another_branch_or_committee_are_refused_and_the_admin_above_may(client, login, org, frozen,
                                                                                     make_exchange):
    frozen("2026-11-20 08:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a])
    for who in (org.secretary_a2, org.secretary_b, org.admin_b):
        refused = _cancel(client, login, who, exchange["id"], reason="越权取消")
        assert refused.status_code == 404 and refused.get_json()["code"] == "not_found"
    assert db.session.get(Exchange, exchange["id"]).status == "approved"
    assert _cancel(client, login, org.admin_a, exchange["id"], reason="党委统一调整").status_code == 200
    assert _cancel_audits(exchange["id"])[0].actor_id == org.admin_a.id


def test_a_reason_is_checked(client, login, org, frozen, make_exchange):
    frozen("2026-11-20 08:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a])
    too_long = _cancel(client, login, org.secretary_a, exchange["id"], reason="因" * 201)
    assert too_long.status_code == 422 and "reason" in too_long.get_json()["details"]["fields"]
    unknown = _cancel(client, login, org.secretary_a, exchange["id"], undo=True)
    assert unknown.status_code == 422
    assert db.session.get(Exchange, exchange["id"]).status == "approved"


def test_cancelling_twice_returns_the_first_cancel_unchanged(client, login, org, frozen, make_exchange):
    exchange, _ = _held(client, login, org, frozen, make_exchange)
    first = _cancel(client, login, org.secretary_a, exchange["id"], reason="场地临时不可用")
    frozen("2026-11-23 15:00")
    second = _cancel(client, login, org.admin_a, exchange["id"], reason="另一个原因")
    assert second.status_code == 200
    assert {k: second.get_json()[k] for k in ("status", "cancelled_at", "cancel_reason")} == {
        k: first.get_json()[k] for k in ("status", "cancelled_at", "cancel_reason")}
    assert len(_cancel_audits(exchange["id"])) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(PointEntry).where(PointEntry.points < 0)) == 3


def test_two_cancels_at_once_take_back_the_points_once(app, client, login, org, frozen, make_exchange):
    exchange, _ = _held(client, login, org, frozen, make_exchange)
    headers = [login(org.secretary_a), login(org.admin_a)] * 2
    db.session.rollback()  # this test's own session must not hold SQLite's write lock while the two race
    results, barrier = [], threading.Barrier(len(headers))

    def cancel(h):
        barrier.wait()
        with app.test_client() as c:
            r = c.post(f"/api/v1/exchanges/{exchange['id']}/cancel", json={"reason": "台风停课"}, headers=h)
            results.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=cancel, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [200] * len(headers), results
    assert len({body["cancelled_at"] for _, body in results}) == 1
    assert len(_cancel_audits(exchange["id"])) == 1
    revokes = db.session.scalars(db.select(PointEntry.points).where(PointEntry.points < 0)).all()
    assert sorted(revokes) == [-10, -3, -3]
    assert (_points(org.member_a), _points(org.member_a2), _points(org.secretary_a)) == (0, 0, 0)
    assert _quota(client, login, org.member_a)["given"] == 0
