"""Two schedulers and two senders at once see every notification exactly once; a killed sender loses nothing."""
import threading
from datetime import timedelta

import pytest

from core import clock
from core.extensions import db
from notifications.delivery import run_sender
from notifications.lease import claim
from notifications.models import CALLING, INBOX_ONLY, SENDING, SENT, UNCONFIRMED, SubscriptionConsent
from notifications.scheduler import LeaderLock, Scheduler
from tests import factories
from tests.learning.helpers import publish
from tests.notifications.helpers import queue, rows, send_all

MATERIAL = "tmpl-study-material"


class AlwaysLeader(LeaderLock):
    """A lock that always says yes: two 'leaders' at once, as when a lock is lost mid-run."""

    def hold(self):
        return True


def _members_with_consent(org, fake_wechat, n):
    people = []
    for i in range(n):
        member = factories.member(org.branch_a, name=f"党员{i:02d}", openid=f"openid-many-{i}")
        fake_wechat.grant_consent(member.openid, MATERIAL)
        db.session.add(SubscriptionConsent(member_id=member.id, template_id=MATERIAL, remaining=1))
        people.append(member)
    db.session.commit()
    return people


def _in_threads(app, target, n=2):
    errors = []
    barrier = threading.Barrier(n)

    def run(i):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                target(i)
            except Exception as exc:  # surfaced to the test below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []


@pytest.mark.parametrize("lock", [LeaderLock, AlwaysLeader])
def test_two_schedulers_queue_a_job_once(app, client, org, login, frozen, lock):
    frozen("2026-11-23 07:30")
    publish(client, login(org.secretary_a), day="2026-11-23")
    frozen("2026-11-23 08:00")
    db.session.commit()
    runners = [Scheduler(app, lock=lock(30)), Scheduler(app, lock=lock(30))]
    results = []
    _in_threads(app, lambda i: results.append(runners[i].tick("daily_material")))

    assert sorted(results, key=lambda r: r or 0) == [None, 3]
    assert len(rows(kind="study_material")) == 3


def test_two_schedulers_and_two_senders_deliver_every_notification_exactly_once(app, client, org, login, frozen,
                                                                               fake_wechat):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("several senders are a PostgreSQL deployment (FOR UPDATE SKIP LOCKED); on SQLite one sender "
                    "runs — see test_a_sender_killed_mid_batch_loses_nothing for the single-sender guarantees")
    frozen("2026-11-23 07:30")
    people = _members_with_consent(org, fake_wechat, 40)
    publish(client, login(org.secretary_a), day="2026-11-23")
    frozen("2026-11-23 08:00")
    db.session.commit()
    runners = [Scheduler(app, lock=AlwaysLeader(30)), Scheduler(app, lock=AlwaysLeader(30))]
    _in_threads(app, lambda i: runners[i].tick("daily_material"))
    app.config["OUTBOX_BATCH"], batch = 5, app.config["OUTBOX_BATCH"]
    try:
        _in_threads(app, lambda i: run_sender(once=True))
    finally:
        app.config["OUTBOX_BATCH"] = batch

    delivered = [m["touser"] for m in fake_wechat.messages(template_id=MATERIAL)]
    assert sorted(delivered) == sorted(p.openid for p in people)  # each exactly once
    statuses = {r.member_id: r.status for r in rows(kind="study_material")}
    assert all(statuses[p.id] == SENT for p in people)
    assert len(statuses) == 40 + 3  # the org's branch-A members have no consent: inbox only
    assert sum(1 for s in statuses.values() if s == INBOX_ONLY) == 3


def test_a_sender_killed_mid_batch_loses_nothing(app, org, login, fake_wechat, frozen):
    frozen("2026-11-23 08:00")
    people = _members_with_consent(org, fake_wechat, 6)
    for p in people:
        queue(p, kind="study_material", period="2026-11-23", data={"thing1": "今日学习"})

    token, claimed = claim(limit=4)  # the sender claims a batch ... and dies before sending any of it
    assert len(claimed) == 4 and all(r.status == SENDING for r in rows() if r.id in claimed)

    send_all()  # another sender: only the unclaimed rows, the dead one's lease still runs
    assert len(fake_wechat.messages()) == 2

    clock.freeze(clock.now() + timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1))
    send_all()
    assert sorted(m["touser"] for m in fake_wechat.messages()) == sorted(p.openid for p in people)
    assert all(r.status == SENT for r in rows())
    assert sorted(r.attempts for r in rows()) == [1, 1, 2, 2, 2, 2]

    # The dead sender comes back to life: its lease token is stale, so it can't touch the rows.
    from notifications.delivery import deliver

    assert deliver(claimed[0], token) == "lost"
    assert len(fake_wechat.messages()) == 6


class _Killed(BaseException):
    """What a SIGKILL looks like from inside: no except Exception catches it, nothing after it runs."""


def test_a_sender_killed_during_the_wechat_call_never_sends_twice_and_loses_nothing(app, client, org, login,
                                                                                   fake_wechat, frozen, monkeypatch):
    frozen("2026-11-23 08:00")
    people = _members_with_consent(org, fake_wechat, 4)
    for p in people:
        queue(p, kind="study_material", period="2026-11-23", data={"thing1": "今日学习"})
    from notifications import delivery

    real_send = delivery.wechat.send_subscribe

    def send_then_die(*args, **kwargs):
        real_send(*args, **kwargs)  # WeChat accepted the message ... and the sender died before recording it
        raise _Killed()

    monkeypatch.setattr(delivery.wechat, "send_subscribe", send_then_die)
    with pytest.raises(_Killed):
        delivery.send_batch(limit=1)
    db.session.rollback()
    monkeypatch.setattr(delivery.wechat, "send_subscribe", real_send)
    in_call = rows(status=CALLING)
    assert len(in_call) == 1 and len(fake_wechat.messages()) == 1

    send_all()  # the other three go out; the row in the dead sender's call keeps its lease
    assert len(fake_wechat.messages()) == 4
    clock.freeze(clock.now() + timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1))
    send_all()  # the lease ran out mid-call: unconfirmed, never called again
    received = [m["touser"] for m in fake_wechat.messages()]
    assert sorted(received) == sorted(p.openid for p in people)  # each exactly once
    statuses = {r.member_id: r.status for r in rows()}
    assert sorted(statuses.values()) == [SENT, SENT, SENT, UNCONFIRMED]
    assert {r.id for r in rows(status=UNCONFIRMED)} == {r.id for r in in_call}
    # Nothing lost: each member has the notification in their inbox, and admins see the unconfirmed rows.
    for p in people:
        inbox = client.get("/api/v1/me/inbox", headers=login(p)).get_json()
        assert inbox["total"] == 1
    outbox = client.get("/api/v1/admin/outbox?status=unconfirmed", headers=login(org.admin_a)).get_json()
    assert outbox["total"] == 1 and outbox["items"][0]["status"] == UNCONFIRMED
