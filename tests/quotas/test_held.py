"""A talk or an attendance counts, and pays, once its exchange has taken place; before that it is 已安排."""
import csv
import io
import threading

from core import clock
from core.extensions import db
from learning.models import PointEntry
from quotas.models import Exchange
from tests import factories


def _quota(client, login, who):
    return client.get("/api/v1/me/quota?year=2026", headers=login(who)).get_json()


def _board(client, login, org):
    rows = client.get(f"/api/v1/branches/{org.branch_a.id}/quota-board?year=2026",
                      headers=login(org.member_a2)).get_json()["members"]
    return {r["name"]: r for r in rows}


def _export(client, login, org):
    raw = client.get(f"/api/v1/branches/{org.branch_a.id}/quota-board/export?year=2026&format=csv",
                     headers=login(org.secretary_a))
    return {r[0]: r for r in csv.reader(io.StringIO(raw.data.decode("utf-8-sig")))}


def _ledger():
    return sorted(db.session.execute(db.select(PointEntry.member_id, PointEntry.rule, PointEntry.points)).all())


def run_quota_settle(now):
    """The scheduler's job, as it runs every five minutes."""
    from notifications.jobs import JOBS

    return JOBS["quota_settle"](now)


def _settle():
    db.session.rollback()
    return run_quota_settle(clock.now())


def test_an_exchange_counts_and_pays_only_once_it_has_been_held(client, login, org, frozen, make_exchange):
    frozen("2026-12-02 10:00")  # approved six days ahead (session tokens last seven)
    latecomer = factories.member(org.branch_a, name="孙七")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a], starts="2026-12-08T14:00:00",
                             ends="2026-12-08T16:00:00")
    assert exchange["status"] == "approved"
    speaker = _quota(client, login, org.member_a)
    assert speaker["given"] == 0 and speaker["talks"][0]["status_label"] == "已安排"
    assert speaker["given_scheduled"] == 1
    assert (speaker["talks"][0]["counts"], speaker["talks"][0]["held"]) == (False, False)
    board = _board(client, login, org)
    assert (board["张三"]["given"], board["张三"]["given_scheduled"]) == (0, 1)
    assert _export(client, login, org)["张三"][2] == "0"
    assert client.get("/api/v1/me/points", headers=login(org.member_a)).get_json()["total"] == 0
    # A mark made ahead of the exchange is recorded, and waits for it too.
    ahead = client.post(f"/api/v1/exchanges/{exchange['id']}/attendance", json={"member_ids": [org.secretary_a.id]},
                        headers=login(org.secretary_a))
    assert ahead.get_json() == {"added": 1, "already": 0}
    marked_ahead = _quota(client, login, org.secretary_a)
    assert (marked_ahead["attended"], marked_ahead["attended_scheduled"]) == (0, 1)
    assert _board(client, login, org)["钱书记"]["attended"] == 0
    assert _settle() == 0 and _ledger() == []

    frozen("2026-12-08 14:30")  # under way: a check-in is recorded, and counts once the exchange is over
    code = client.get(f"/api/v1/exchanges/{exchange['id']}/check-in-code", headers=login(org.secretary_a))
    checked = client.post(f"/api/v1/exchanges/{exchange['id']}/check-in", json={"code": code.get_json()["code"]},
                          headers=login(org.member_a2))
    assert checked.status_code == 200 and checked.get_json()["first_time"] is True
    attendee = _quota(client, login, org.member_a2)
    assert (attendee["attended"], attendee["attended_scheduled"]) == (0, 1)
    assert attendee["attendance"][0]["status_label"] == "已安排"
    assert _settle() == 0 and _ledger() == []

    frozen("2026-12-08 16:01")  # over: it counts at once, everywhere
    speaker, attendee = _quota(client, login, org.member_a), _quota(client, login, org.member_a2)
    assert (speaker["given"], speaker["given_scheduled"], attendee["attended"]) == (1, 0, 1)
    assert speaker["talks"][0]["status_label"] == "已通过" and speaker["talks"][0]["counts"] is True
    board = _board(client, login, org)
    assert (board["张三"]["given"], board["张三"]["given_scheduled"], board["李四"]["attended"]) == (1, 0, 1)
    assert _export(client, login, org)["李四"][3] == "1"
    assert _board(client, login, org)["钱书记"]["attended"] == 1
    # A mark after the end pays at once; the settle job pays the rest, each payment once however often it runs.
    marked = client.post(f"/api/v1/exchanges/{exchange['id']}/attendance", json={"member_ids": [latecomer.id]},
                         headers=login(org.secretary_a))
    assert marked.get_json() == {"added": 1, "already": 0}
    assert _ledger() == [(latecomer.id, "quota_exchange_attended", 3)]
    assert _settle() == 1
    assert _settle() == 0
    assert _ledger() == sorted([(org.member_a.id, "quota_talk_given", 10),
                                (org.member_a2.id, "quota_exchange_attended", 3),
                                (org.secretary_a.id, "quota_exchange_attended", 3),
                                (latecomer.id, "quota_exchange_attended", 3)])
    assert client.get("/api/v1/me/points", headers=login(org.member_a)).get_json()["total"] == 10
    assert db.session.get(Exchange, exchange["id"]).settled_at is not None


def test_a_held_exchange_cannot_be_moved_into_the_future(client, login, org, frozen, make_exchange):
    frozen("2026-11-30 10:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a], starts="2026-11-23T14:00:00",
                             ends="2026-11-23T16:00:00")
    assert _ledger() == [(org.member_a.id, "quota_talk_given", 10)]  # back-dated: held, so paid at once
    moved = client.patch(f"/api/v1/exchanges/{exchange['id']}", headers=login(org.secretary_a),
                         json={"starts_at": "2026-12-08T14:00:00", "ends_at": "2026-12-08T16:00:00"})
    assert moved.status_code == 409 and moved.get_json()["code"] == "exchange_held"
    assert _quota(client, login, org.member_a)["given"] == 1


def test_settle_runs_racing_a_cancel_pay_each_talk_at_most_once_and_leave_nothing_after_the_cancel(
        app, client, login, org, frozen, make_exchange):
    frozen("2026-12-02 10:00")
    exchange = make_exchange(org.secretary_a, speakers=[org.member_a], starts="2026-12-08T14:00:00",
                             ends="2026-12-08T16:00:00")
    frozen("2026-12-08 16:30")
    headers = login(org.secretary_a)
    db.session.rollback()  # this test's own session must not hold SQLite's write lock while they race
    barrier, settled, cancels = threading.Barrier(3), [], []

    def settle():
        barrier.wait()
        with app.app_context():
            settled.append(run_quota_settle(clock.now()))

    def cancel():
        barrier.wait()
        with app.test_client() as c:
            cancels.append(c.post(f"/api/v1/exchanges/{exchange['id']}/cancel", json={"reason": "主讲人出差"},
                                  headers=headers).status_code)

    threads = [threading.Thread(target=f) for f in (settle, settle, cancel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cancels == [200] and sorted(settled) in ([0, 0], [0, 1])
    talks = db.session.scalars(db.select(PointEntry.points).where(PointEntry.rule == "quota_talk_given")).all()
    assert sorted(talks) in ([], [-10, 10])  # cancelled first: never paid; settled first: paid once, taken back
    assert _quota(client, login, org.member_a)["given"] == 0
