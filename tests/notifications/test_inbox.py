"""The phone's side: the inbox, subscribe consents reported after wx.requestSubscribeMessage, preferences."""
from notifications.models import INBOX_ONLY, SENT
from tests.notifications.helpers import consent, queue, rows, send_all

QUIZ_OPEN, MATERIAL = "tmpl-quiz-open", "tmpl-study-material"


def test_the_inbox_lists_my_notifications_newest_first_and_counts_unread(client, org, login, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.member_a)
    for week in ("w1", "w2", "w3"):
        queue(org.member_a, period=week, title=f"测验{week}")
    queue(org.member_b, period="w1")

    page = client.get("/api/v1/me/inbox?per_page=2", headers=headers).get_json()
    assert page["total"] == 3 and [i["title"] for i in page["items"]] == ["测验w3", "测验w2"]
    assert page["items"][0]["read"] is False and page["items"][0]["page"] == "pages/index/index"
    assert client.get("/api/v1/me/inbox/unread-count", headers=headers).get_json() == {"unread": 3}

    first = page["items"][0]["id"]
    read = client.post(f"/api/v1/me/inbox/{first}/read", headers=headers)
    assert read.status_code == 200 and read.get_json()["read"] is True
    assert client.get("/api/v1/me/inbox/unread-count", headers=headers).get_json() == {"unread": 2}
    assert client.get("/api/v1/me/inbox?unread=true", headers=headers).get_json()["total"] == 2

    assert client.post("/api/v1/me/inbox/read-all", headers=headers).get_json() == {"updated": 2}
    assert client.get("/api/v1/me/inbox/unread-count", headers=headers).get_json() == {"unread": 0}


def test_another_members_notification_is_not_found(client, org, login):
    queue(org.member_b)
    other = rows(member_id=org.member_b.id)[0].id
    response = client.post(f"/api/v1/me/inbox/{other}/read", headers=login(org.member_a))
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert rows(member_id=org.member_b.id)[0].read_at is None


def test_the_inbox_needs_a_login(client):
    assert client.get("/api/v1/me/inbox").status_code == 401


def test_each_accept_is_one_message_and_a_retried_report_counts_once(client, org, login):
    headers = login(org.member_a)
    assert consent(client, headers, QUIZ_OPEN, request_id="req-000001").status_code == 200
    again = consent(client, headers, QUIZ_OPEN, request_id="req-000001")  # the phone retried
    assert consent(client, headers, QUIZ_OPEN, request_id="req-000002").status_code == 200
    consent(client, headers, MATERIAL, result="reject")
    remaining = {s["template_id"]: s["remaining"] for s in again.get_json()}
    assert remaining[QUIZ_OPEN] == 1
    subs = {s["template_id"]: s for s in client.get("/api/v1/me/subscriptions", headers=headers).get_json()}
    assert subs[QUIZ_OPEN]["remaining"] == 2 and subs[MATERIAL]["remaining"] == 0


def test_ban_stops_a_template_until_accepted_again(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.member_a)
    consent(client, headers, QUIZ_OPEN)
    consent(client, headers, QUIZ_OPEN, result="ban")
    fake_wechat.grant_consent(org.member_a.openid, QUIZ_OPEN)
    queue(org.member_a)
    send_all()
    assert rows()[0].status == INBOX_ONLY and fake_wechat.messages() == []
    subs = {s["template_id"]: s for s in client.get("/api/v1/me/subscriptions", headers=headers).get_json()}
    assert subs[QUIZ_OPEN] == {"template_id": QUIZ_OPEN, "purpose": "quiz_open", "remaining": 0, "banned": True}


def test_a_report_with_an_unknown_template_changes_nothing(client, org, login):
    headers = login(org.member_a)
    response = client.post("/api/v1/me/subscriptions", headers=headers, json={
        "request_id": "req-000009", "results": [{"template_id": QUIZ_OPEN, "result": "accept"},
                                                 {"template_id": "tmpl-nope", "result": "accept"}]})
    assert response.status_code == 422 and response.get_json()["details"]["template_ids"] == ["tmpl-nope"]
    subs = {s["template_id"]: s["remaining"]
        for s in client.get("/api/v1/me/subscriptions", headers=headers).get_json()}
    assert subs[QUIZ_OPEN] == 0


def test_bad_reports_are_rejected(client, org, login):
    headers = login(org.member_a)
    for body in ({"results": [{"template_id": QUIZ_OPEN, "result": "accept"}]},
                 {"request_id": "req-000010", "results": []},
                 {"request_id": "req-000010", "results": [{"template_id": QUIZ_OPEN, "result": "maybe"}]},
                 {"request_id": "req-000010", "results": [], "extra": 1}):
        assert client.post("/api/v1/me/subscriptions", headers=headers, json=body).status_code == 422


def test_preferences_default_and_change(client, org, login):
    headers = login(org.member_a)
    assert client.get("/api/v1/me/notification-preferences", headers=headers).get_json() == {
        "reminders_enabled": True, "quiet_hours_enabled": True, "quiet_start": "22:00", "quiet_end": "07:00"}
    changed = client.put("/api/v1/me/notification-preferences", headers=headers,
                         json={"reminders_enabled": False, "quiet_start": "21:30"})
    assert changed.status_code == 200
    assert changed.get_json() == {"reminders_enabled": False, "quiet_hours_enabled": True,
                                  "quiet_start": "21:30", "quiet_end": "07:00"}
    bad = client.put("/api/v1/me/notification-preferences", headers=headers, json={"quiet_end": "25:00"})
    assert bad.status_code == 422 and "quiet_end" in bad.get_json()["details"]["fields"]


def test_muted_reminders_stay_in_the_inbox_but_essential_ones_are_pushed(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.member_a)
    client.put("/api/v1/me/notification-preferences", headers=headers, json={"reminders_enabled": False})
    for template in (QUIZ_OPEN, MATERIAL):
        consent(client, headers, template)
        fake_wechat.grant_consent(org.member_a.openid, template)
    queue(org.member_a, kind="study_material", data={"thing1": "今日学习"})
    queue(org.member_a, kind="quiz_open")

    send_all()

    material, quiz = rows()
    assert material.status == INBOX_ONLY and "muted" in material.last_error
    assert quiz.status == SENT
    assert [m["template_id"] for m in fake_wechat.messages()] == [QUIZ_OPEN]
    assert client.get("/api/v1/me/inbox/unread-count", headers=headers).get_json() == {"unread": 2}


def test_a_member_without_wechat_gets_the_inbox_only(org, fake_wechat, frozen):
    frozen("2026-11-23 08:00")
    queue(org.member_a)  # never logged in: no openid
    send_all()
    assert rows()[0].status == INBOX_ONLY and fake_wechat.calls("/cgi-bin/message/subscribe/send") == 0
