"""Moving the close of an open quiz tells the members still to submit, once per move, in the edit's transaction."""
from datetime import datetime

import pytest
from sqlalchemy import select

from core import audit
from core.audit import AuditEntry
from core.extensions import db
from notifications.models import SENT
from tests.factories import local_time
from tests.notifications.helpers import consent, rows, send_all
from tests.quizzes.helpers import answers_for, make_bank

KIND, QUIZ_REMINDER = "quiz_close_moved", "tmpl-quiz-reminder"


def _iso(text):
    return local_time(text).isoformat()


@pytest.fixture
def bank(org):
    return make_bank(org.committee_a)


@pytest.fixture
def quiz(client, login, org, frozen, bank):
    """Branch A1's quiz for this week, open Monday 00:00 to the next Monday 00:00; 张三 has already submitted."""
    frozen("2026-11-23 08:00")
    response = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a),
                           json={"week_key": "2026-W48", "title": "第48周测验", "question_ids": [q.id for q in bank]})
    assert response.status_code == 201 and response.get_json()["phase"] == "open", response.get_json()
    quiz_id = response.get_json()["id"]
    member = login(org.member_a)
    attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=member).get_json()
    submitted = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=member,
                            json={"answers": answers_for(bank)})
    assert submitted.status_code == 200, submitted.get_json()
    frozen("2026-11-25 10:00")
    return quiz_id


def _patch(client, headers, quiz_id, body):
    return client.patch(f"/api/v1/quizzes/{quiz_id}", headers=headers, json=body)


def _notices(client, headers):
    """The close notices in a member's inbox as their phone lists it, newest first."""
    items = client.get("/api/v1/me/inbox?per_page=50", headers=headers).get_json()["items"]
    return [item for item in items if item["kind"] == KIND]


def test_moving_the_close_tells_each_member_who_has_not_submitted_once(client, login, org, quiz):
    secretary, behind, done = login(org.secretary_a), login(org.member_a2), login(org.member_a)
    response = _patch(client, secretary, quiz, {"closes_at": _iso("2026-11-29 20:00")})
    assert response.status_code == 200, response.get_json()

    [notice] = _notices(client, behind)
    assert notice["title"] == "测验截止时间调整"
    assert notice["body"] == "“第48周测验”截止时间调整为2026年11月29日 20:00，请在截止前完成作答。"
    assert notice["page"] == f"pages/quiz/index?id={quiz}" and notice["read"] is False
    assert _notices(client, secretary) == []  # the secretary manages the branch's quiz: not in its audience
    assert _notices(client, done) == []
    assert _notices(client, login(org.member_a2_branch)) == []  # another branch's member is not in the audience
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "quiz.update")).all()
    assert entry.details["notified"] == 1

    # The phone retries the same PATCH: nothing more.
    assert _patch(client, secretary, quiz, {"closes_at": _iso("2026-11-29 20:00")}).status_code == 200
    assert len(_notices(client, behind)) == 1 and len(rows(kind=KIND)) == 1

    # A later, different move is told again, with its own time.
    assert _patch(client, secretary, quiz, {"closes_at": _iso("2026-11-28 18:00")}).status_code == 200
    latest, first = _notices(client, behind)
    assert "2026年11月28日 18:00" in latest["body"] and "2026年11月29日 20:00" in first["body"]
    assert _notices(client, secretary) == [] and _notices(client, done) == []

    # Moved back to the close already told: still a new move, so told again.
    assert _patch(client, secretary, quiz, {"closes_at": _iso("2026-11-29 20:00")}).status_code == 200
    assert "2026年11月29日 20:00" in _notices(client, behind)[0]["body"] and len(_notices(client, behind)) == 3


def test_the_notice_is_pushed_with_the_quiz_reminder_template(client, login, org, fake_wechat, quiz):
    behind = login(org.member_a2)
    assert consent(client, behind, QUIZ_REMINDER).status_code == 200
    fake_wechat.grant_consent(org.member_a2.openid, QUIZ_REMINDER)
    assert _patch(client, login(org.secretary_a), quiz, {"closes_at": _iso("2026-11-29 20:00")}).status_code == 200

    send_all()

    [message] = fake_wechat.messages(touser=org.member_a2.openid)
    assert message["template_id"] == QUIZ_REMINDER
    assert message["data"]["thing1"] == "第48周测验" and message["data"]["time2"] == "2026年11月29日 20:00"
    assert rows(kind=KIND, member_id=org.member_a2.id)[0].status == SENT


def test_an_essential_notice_is_pushed_even_with_reminders_muted(client, login, org, fake_wechat, quiz):
    behind = login(org.member_a2)
    muted = client.put("/api/v1/me/notification-preferences", headers=behind, json={"reminders_enabled": False})
    assert muted.status_code == 200, muted.get_json()
    consent(client, behind, QUIZ_REMINDER)
    fake_wechat.grant_consent(org.member_a2.openid, QUIZ_REMINDER)
    assert _patch(client, login(org.secretary_a), quiz, {"closes_at": _iso("2026-11-26 12:00")}).status_code == 200

    send_all()

    assert rows(kind=KIND, member_id=org.member_a2.id)[0].status == SENT
    assert len(fake_wechat.messages(touser=org.member_a2.openid)) == 1


def test_a_title_or_an_unchanged_close_tells_no_one(client, login, org, quiz):
    secretary = login(org.secretary_a)
    assert _patch(client, secretary, quiz, {"title": "第48周测验（更正）"}).status_code == 200
    assert _patch(client, secretary, quiz, {"closes_at": _iso("2026-11-30 00:00")}).status_code == 200
    assert client.get(f"/api/v1/quizzes/{quiz}", headers=secretary).get_json()["title"] == "第48周测验（更正）"
    assert _notices(client, login(org.member_a2)) == [] and rows(kind=KIND) == []


def test_a_close_moved_before_the_quiz_opens_tells_no_one(client, login, org, frozen, bank):
    frozen("2026-11-25 10:00")
    secretary = login(org.secretary_a)
    created = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=secretary,
                          json={"week_key": "2026-W49", "title": "第49周测验", "question_ids": [q.id for q in bank]})
    assert created.status_code == 201 and created.get_json()["phase"] == "upcoming"
    response = _patch(client, secretary, created.get_json()["id"], {"closes_at": _iso("2026-12-05 18:00")})
    assert response.status_code == 200 and response.get_json()["phase"] == "upcoming", response.get_json()
    assert _notices(client, login(org.member_a2)) == [] and rows(kind=KIND) == []


@pytest.mark.parametrize("body, code", [
    ({"closes_at": _iso("2026-11-25 09:00")}, "closes_in_past"),
    ({"closes_at": _iso("2026-11-29 20:00"), "time_limit_minutes": 30}, "quiz_started"),
])
def test_a_refused_move_tells_no_one(client, login, org, quiz, body, code):
    response = _patch(client, login(org.secretary_a), quiz, body)
    assert response.status_code == 409 and response.get_json()["code"] == code, response.get_json()
    assert _notices(client, login(org.member_a2)) == [] and rows(kind=KIND) == []


def test_an_edit_that_fails_after_queuing_leaves_nothing_queued(client, login, org, quiz, monkeypatch):
    secretary, behind = login(org.secretary_a), login(org.member_a2)

    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(audit, "record", broken)  # fails after the notices were queued, before the commit
    response = _patch(client, secretary, quiz, {"closes_at": _iso("2026-11-29 20:00")})
    assert response.status_code == 500, response.get_json()
    monkeypatch.undo()
    assert rows(kind=KIND) == [] and _notices(client, behind) == []
    closes = client.get(f"/api/v1/quizzes/{quiz}", headers=secretary).get_json()["closes_at"]
    assert datetime.fromisoformat(closes) == datetime.fromisoformat(_iso("2026-11-30 00:00"))


def test_a_racing_duplicate_of_the_same_move_queues_nothing_more(client, login, org, quiz):
    from notifications.services import notify_quiz_close_moved
    from quizzes.models import Quiz

    assert _patch(client, login(org.secretary_a), quiz, {"closes_at": _iso("2026-11-29 20:00")}).status_code == 200
    # A second editor who read the same old close and wrote the same new one: the keys are the same.
    old = datetime.fromisoformat(_iso("2026-11-30 00:00"))
    assert notify_quiz_close_moved(db.session.get(Quiz, quiz), old) == 0
    db.session.commit()
    assert len(rows(kind=KIND)) == 1
