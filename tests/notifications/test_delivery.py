"""Delivery through the fake WeChat API: consents spent and exhausted, inbox fallback, token refresh, errors."""
from datetime import timedelta

from core import clock
from notifications.models import DEAD, INBOX_ONLY, PENDING, SENT
from tests.notifications.helpers import consent, queue, rows, send_all

QUIZ_OPEN = "tmpl-quiz-open"


def test_a_consent_is_spent_on_one_message_then_the_inbox_only(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.member_a)
    assert consent(client, headers, QUIZ_OPEN).status_code == 200
    fake_wechat.grant_consent(org.member_a.openid, QUIZ_OPEN)
    queue(org.member_a, period="w1")
    queue(org.member_a, period="w2")

    send_all()

    first, second = rows(member_id=org.member_a.id)
    assert first.status == SENT and first.sent_at is not None
    assert second.status == INBOX_ONLY and "consent" in second.last_error
    assert len(fake_wechat.messages(touser=org.member_a.openid)) == 1
    subs = client.get("/api/v1/me/subscriptions", headers=headers).get_json()
    assert {s["template_id"]: s["remaining"] for s in subs}[QUIZ_OPEN] == 0
    inbox = client.get("/api/v1/me/inbox", headers=headers).get_json()
    assert inbox["total"] == 2


def test_template_values_are_cut_to_wechat_limits(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.member_a)
    consent(client, headers, QUIZ_OPEN)
    fake_wechat.grant_consent(org.member_a.openid, QUIZ_OPEN)
    long_title = "学习贯彻党的二十届三中全会精神专题测验第十二期"
    queue(org.member_a, title=long_title, data={"thing1": long_title, "thing3": "请在截止前完成作答"})

    send_all()

    [message] = fake_wechat.messages(touser=org.member_a.openid)
    assert len(message["data"]["thing1"]) == 20 and message["data"]["thing1"].endswith("…")
    assert message["data"]["time2"] == "2026年11月23日 08:00"  # filled in, in Asia/Shanghai
    assert rows()[0].status == SENT


def test_43101_spends_the_consent_and_falls_back_to_the_inbox(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.member_a)
    consent(client, headers, QUIZ_OPEN)  # we believe we have one; WeChat says none (no grant in the fake)
    queue(org.member_a)

    send_all()

    [row] = rows()
    assert row.status == INBOX_ONLY and row.last_error.startswith("43101")
    subs = client.get("/api/v1/me/subscriptions", headers=headers).get_json()
    assert {s["template_id"]: s["remaining"] for s in subs}[QUIZ_OPEN] == 0
    assert client.get("/api/v1/me/inbox/unread-count", headers=headers).get_json() == {"unread": 1}


def test_an_expired_token_is_refreshed_once_and_the_message_sent(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.member_a)
    consent(client, headers, QUIZ_OPEN)
    fake_wechat.grant_consent(org.member_a.openid, QUIZ_OPEN)
    queue(org.member_a)
    from core import wechat
    from notifications.delivery import send_batch

    wechat.access_token()  # cache a token, then have WeChat expire it
    fake_wechat.expire_token("expired")
    before = fake_wechat.calls("/cgi-bin/stable_token")

    send_batch()

    assert rows()[0].status == SENT
    assert fake_wechat.calls("/cgi-bin/stable_token") == before + 1
    assert fake_wechat.calls("/cgi-bin/message/subscribe/send") == 2


def test_47003_is_a_bug_report_not_a_retry_loop(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.member_a)
    consent(client, headers, QUIZ_OPEN)
    fake_wechat.grant_consent(org.member_a.openid, QUIZ_OPEN)
    queue(org.member_a)
    fake_wechat.fault("/cgi-bin/message/subscribe/send", errcode=47003)

    send_all()

    [row] = rows()
    assert row.status == DEAD and row.attempts == 1 and row.last_error.startswith("47003")
    assert fake_wechat.calls("/cgi-bin/message/subscribe/send") == 1
    subs = client.get("/api/v1/me/subscriptions", headers=headers).get_json()
    assert {s["template_id"]: s["remaining"] for s in subs}[QUIZ_OPEN] == 1  # not spent by a failed send
    admin = login(org.admin_a)
    dead = client.get("/api/v1/admin/outbox", headers=admin).get_json()
    assert [d["id"] for d in dead["items"]] == [row.id] and dead["items"][0]["last_error"].startswith("47003")
    assert client.get("/api/v1/admin/outbox", headers=login(org.admin_b)).get_json()["total"] == 0


def test_45009_and_outages_back_off_exponentially_then_the_row_is_dead(client, org, login, fake_wechat, frozen, app):
    start = frozen("2026-11-23 08:00")
    headers = login(org.member_a)
    consent(client, headers, QUIZ_OPEN)
    fake_wechat.grant_consent(org.member_a.openid, QUIZ_OPEN)
    queue(org.member_a)
    fake_wechat.fault("/cgi-bin/message/subscribe/send", errcode=45009)

    send_all()
    [row] = rows()
    assert row.status == PENDING and row.attempts == 1
    assert row.next_attempt_at - clock.now() >= timedelta(minutes=10)

    fake_wechat.fault("/cgi-bin/message/subscribe/send", http_status=502, times=10)
    waits = []
    for _ in range(app.config["OUTBOX_MAX_ATTEMPTS"] - 1):
        clock.freeze(rows()[0].next_attempt_at)
        send_all()
        row = rows()[0]
        waits.append(row.next_attempt_at - clock.now())
    assert row.status == DEAD and row.attempts == app.config["OUTBOX_MAX_ATTEMPTS"]
    assert waits[1] > waits[0] > timedelta(0)  # exponential: each wait longer than the last
    assert clock.now() > start


def test_an_admin_can_retry_a_dead_row(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.member_a)
    consent(client, headers, QUIZ_OPEN)
    fake_wechat.grant_consent(org.member_a.openid, QUIZ_OPEN)
    queue(org.member_a)
    fake_wechat.fault("/cgi-bin/message/subscribe/send", errcode=47003)
    send_all()
    row_id = rows()[0].id

    assert client.post(f"/api/v1/admin/outbox/{row_id}/retry", headers=login(org.admin_b)).status_code == 404
    response = client.post(f"/api/v1/admin/outbox/{row_id}/retry", headers=login(org.admin_a))
    assert response.status_code == 200 and response.get_json()["status"] == PENDING
    send_all()
    assert rows()[0].status == SENT


def test_the_outbox_lists_every_row_unless_a_status_is_asked(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 08:00")
    consent(client, login(org.member_a), QUIZ_OPEN)
    fake_wechat.grant_consent(org.member_a.openid, QUIZ_OPEN)
    queue(org.member_a)
    fake_wechat.fault("/cgi-bin/message/subscribe/send", errcode=47003)
    send_all()
    queue(org.member_a, period="p2")
    dead, pending = rows()
    assert (dead.status, pending.status) == (DEAD, "pending")
    admin = login(org.admin_a)
    every = client.get("/api/v1/admin/outbox", headers=admin).get_json()
    assert [(r["id"], r["status"]) for r in every["items"]] == [(pending.id, "pending"), (dead.id, "dead")]
    assert every["total"] == 2
    only_dead = client.get("/api/v1/admin/outbox?status=dead", headers=admin).get_json()
    assert [r["id"] for r in only_dead["items"]] == [dead.id]
    only_pending = client.get("/api/v1/admin/outbox?status=pending", headers=admin).get_json()
    assert [r["id"] for r in only_pending["items"]] == [pending.id]
    assert client.get("/api/v1/admin/outbox?status=lost", headers=admin).status_code == 422
