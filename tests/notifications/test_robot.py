"""A branch's WeCom group robot: the key is stored and never returned; at most 20 messages a minute per robot."""
from datetime import timedelta

from core import clock
from core.audit import AuditEntry
from core.extensions import db
from notifications import services
from notifications.models import PENDING, SENT, SKIPPED
from tests.notifications.helpers import rows, send_all

KEY = "robot-key-0123456789"


def _set_robot(client, headers, branch, key=KEY):
    return client.put(f"/api/v1/branches/{branch.id}/wecom-robot", headers=headers, json={"webhook_key": key})


def test_a_secretary_stores_the_key_and_it_is_never_returned(client, org, login):
    headers = login(org.secretary_a)
    response = _set_robot(client, headers, org.branch_a)
    assert response.status_code == 200
    body = response.get_json()
    assert body["configured"] is True and body["enabled"] is True and KEY not in response.get_data(as_text=True)
    shown = client.get(f"/api/v1/branches/{org.branch_a.id}/wecom-robot", headers=headers)
    assert shown.get_json()["configured"] is True and KEY not in shown.get_data(as_text=True)
    entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "notifications.robot_set")).one()
    assert KEY not in str(entry.details)
    removed = client.delete(f"/api/v1/branches/{org.branch_a.id}/wecom-robot", headers=headers)
    assert removed.get_json()["configured"] is False


def test_robot_scope(client, org, login):
    assert _set_robot(client, login(org.secretary_b), org.branch_a).status_code == 404
    assert _set_robot(client, login(org.member_a), org.branch_a).status_code == 403
    assert _set_robot(client, login(org.admin_a), org.branch_a2).status_code == 200
    assert _set_robot(client, login(org.admin_b), org.branch_a2).status_code == 404
    bad = _set_robot(client, login(org.secretary_a), org.branch_a, key="x")
    assert bad.status_code == 422


def _queue_digests(branch, n):
    for i in range(n):
        services.notify_branch_robot(branch, "branch_digest", f"week{i}", {
            "title": f"周报{i}", "body": f"**周报{i}**\n> 学习完成率：90%"})
    db.session.commit()


def test_the_robot_sends_20_a_minute_and_defers_the_rest(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 09:00")
    fake_wechat.add_webhook(KEY)
    _set_robot(client, login(org.secretary_a), org.branch_a)
    _queue_digests(org.branch_a, 25)

    send_all()
    assert len(fake_wechat.webhook_messages(key=KEY)) == 20
    waiting = rows(status=PENDING)
    assert len(waiting) == 5 and all(r.attempts == 0 for r in waiting)
    assert fake_wechat.calls("/cgi-bin/webhook/send") == 20  # no call wasted on a 130101

    clock.freeze(clock.now() + timedelta(seconds=61))
    fake_wechat.advance(61)
    send_all()
    assert len(fake_wechat.webhook_messages(key=KEY)) == 25 and len(rows(status=SENT)) == 25
    assert fake_wechat.webhook_messages(key=KEY)[0]["markdown"]["content"].startswith("**周报0**")


def test_a_130101_from_wecom_defers_instead_of_failing(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 09:00")
    fake_wechat.add_webhook(KEY)
    _set_robot(client, login(org.secretary_a), org.branch_a)
    _queue_digests(org.branch_a, 1)
    fake_wechat.fault("/cgi-bin/webhook/send", errcode=130101)

    send_all()
    [row] = rows()
    assert row.status == PENDING and row.attempts == 0 and row.last_error.startswith("130101")
    clock.freeze(clock.now() + timedelta(seconds=60))
    send_all()
    assert rows()[0].status == SENT and len(fake_wechat.webhook_messages(key=KEY)) == 1


def test_no_robot_no_message(client, org, login, frozen):
    frozen("2026-11-23 09:00")
    _queue_digests(org.branch_a, 1)
    assert rows() == []  # nothing is queued for a branch without a robot
    _set_robot(client, login(org.secretary_a), org.branch_a)
    _queue_digests(org.branch_a, 1)
    client.delete(f"/api/v1/branches/{org.branch_a.id}/wecom-robot", headers=login(org.secretary_a))
    send_all()
    assert rows()[0].status == SKIPPED
