"""The WeChat API timing out or answering 5xx: the sender backs off and retries; each member gets the message once."""
from collections import Counter

from core import clock
from notifications.models import Notification
from tests.notifications.helpers import consent, queue, rows, send_all

QUIZ_OPEN = "tmpl-quiz-open"
SEND = "/cgi-bin/message/subscribe/send"


def test_timeouts_and_5xx_are_retried_with_backoff_and_nothing_is_sent_twice(app, client, org, login, fake_wechat,
                                                                             frozen, monkeypatch):
    frozen("2026-11-23 10:00")
    monkeypatch.setitem(app.config, "WECHAT_TIMEOUT", 0.3)
    people = [org.member_a, org.member_a2, org.member_b]
    for person in people:
        consent(client, login(person), QUIZ_OPEN)
        fake_wechat.grant_consent(person.openid, QUIZ_OPEN, count=3)
        queue(person)
    fake_wechat.fault(SEND, http_status=503, times=2)
    send_all()
    fake_wechat.fault(SEND, delay=0.6, http_status=504, times=1)  # a gateway that hangs, then fails
    waits = []
    for _ in range(6):
        pending = [r for r in rows() if r.status not in ("sent", "inbox_only", "skipped", "dead")]
        if not pending:
            break
        due = min(r.next_attempt_at for r in pending)
        waits.append(due - clock.now())
        clock.freeze(max(due, clock.now()))
        send_all()
    final = rows()
    assert all(r.status == "sent" for r in final), [(r.status, r.last_error) for r in final]
    assert all(r.attempts >= 1 for r in final) and max(r.attempts for r in final) >= 2
    assert any(w.total_seconds() > 0 for w in waits), "a failed send was retried at once, not after a backoff"
    received = Counter(m["touser"] for m in fake_wechat.messages(template_id=QUIZ_OPEN))
    assert received == Counter({p.openid: 1 for p in people})
    assert Notification.query.count() == len(people)
