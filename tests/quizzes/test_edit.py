"""Editing a quiz's settings through the API: everything before it opens, only title and close once it has."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core import clock
from core.audit import AuditEntry
from core.extensions import db
from quizzes.models import Attempt, Quiz, QuizItem
from quizzes.services import close_due_quizzes
from tests.factories import local_time as _local
from tests.factories import login_headers
from tests.quizzes.helpers import answers_for, assert_no_answers, make_bank, make_question

THIS_WEEK, NEXT_WEEK = "2026-W48", "2026-W49"


def _iso(text):
    return _local(text).isoformat()


@pytest.fixture
def bank(org):
    return make_bank(org.committee_a)


@pytest.fixture
def branch_quiz(client, login, org, frozen, bank):
    """Branch A1's quiz for next week, made by its secretary: not open yet."""
    frozen("2026-11-23 08:00")
    return _create(client, f"/api/v1/branches/{org.branch_a.id}/quizzes", login(org.secretary_a), bank,
                   NEXT_WEEK, "第49周测验", "upcoming")


@pytest.fixture
def committee_quiz(client, login, org, frozen, bank):
    """Committee A's quiz for this week, made by its admin: open now, closing Monday 2026-11-30 00:00."""
    frozen("2026-11-23 08:00")
    return _create(client, f"/api/v1/committees/{org.committee_a.id}/quizzes", login(org.admin_a), bank,
                   THIS_WEEK, "第48周测验", "open")


def _create(client, path, headers, bank, week, title, phase):
    response = client.post(path, headers=headers, json={
        "week_key": week, "title": title, "question_ids": [q.id for q in bank]})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["phase"] == phase
    return response.get_json()


def _patch(client, headers, quiz_id, body):
    return client.patch(f"/api/v1/quizzes/{quiz_id}", headers=headers, json=body)


def _edits(quiz_id):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == "quiz.update",
                                                       AuditEntry.target_id == str(quiz_id))).all()


def _assert_error(response, status, code=None):
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) == {"code", "message", "details"} and body["message"], body
    if code:
        assert body["code"] == code, body
    return body


def test_a_secretary_changes_every_setting_before_the_quiz_opens(client, login, org, bank, branch_quiz):
    headers = login(org.secretary_a)
    picked = [bank[2].id, bank[0].id, bank[3].id]
    response = _patch(client, headers, branch_quiz["id"], {
        "title": "第49周测验（修订）", "opens_at": _iso("2026-12-01 09:00"), "closes_at": _iso("2026-12-05 18:00"),
        "time_limit_minutes": 20, "max_attempts": 2, "question_ids": picked, "points_per_question": 5,
        "pass_percent": 80, "reveal_answers": False})
    assert response.status_code == 200, response.get_json()
    body = client.get(f"/api/v1/quizzes/{branch_quiz['id']}", headers=headers).get_json()
    assert body == response.get_json()
    assert body["title"] == "第49周测验（修订）" and body["time_limit_minutes"] == 20 and body["max_attempts"] == 2
    assert datetime.fromisoformat(body["opens_at"]) == _local("2026-12-01 09:00")
    assert datetime.fromisoformat(body["closes_at"]) == _local("2026-12-05 18:00")
    assert [item["question"]["id"] for item in body["items"]] == picked
    assert [item["position"] for item in body["items"]] == [1, 2, 3]
    assert {item["points"] for item in body["items"]} == {5}
    assert body["total_score"] == 15 and body["pass_score"] == 12 and body["reveal_answers"] is False
    assert body["question_count"] == 3 and body["phase"] == "upcoming"
    # Who, when, and each changed setting before → after.
    [entry] = _edits(branch_quiz["id"])
    assert entry.actor_id == org.secretary_a.id and entry.at == clock.now()
    changes = entry.details["changes"]
    assert changes["title"] == ["第49周测验", "第49周测验（修订）"]
    assert changes["question_ids"] == [[q.id for q in bank], picked]
    assert changes["time_limit_minutes"] == [15, 20] and changes["total_score"] == [40, 15]
    assert changes["pass_score"] == [24, 12] and changes["reveal_answers"] == [True, False]
    assert datetime.fromisoformat(changes["closes_at"][1]) == _local("2026-12-05 18:00")
    assert "week_key" not in changes


def test_points_alone_keep_the_pass_percent(client, login, org, branch_quiz):
    response = _patch(client, login(org.secretary_a), branch_quiz["id"], {"points_per_question": 5})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["total_score"] == 20 and response.get_json()["pass_score"] == 12  # still 60 %


def test_rules_reassemble_the_questions_from_the_owners_bank(client, login, org, bank, branch_quiz):
    response = _patch(client, login(org.secretary_a), branch_quiz["id"],
                      {"rules": [{"kind": "judge", "count": 1}, {"kind": "single", "count": 1}]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert sorted(item["question"]["kind"] for item in body["items"]) == ["judge", "single"]
    assert body["assembly"]["rules"][0] == {"kind": "judge", "count": 1} and body["total_score"] == 20
    short = _patch(client, login(org.secretary_a), branch_quiz["id"], {"rules": [{"kind": "judge", "count": 5}]})
    _assert_error(short, 422, "bank_too_small")


def test_moving_a_quiz_to_another_week_moves_its_window_and_needs_that_week_free(client, login, org, branch_quiz):
    headers = login(org.secretary_a)
    response = _patch(client, headers, branch_quiz["id"], {"week_key": "2026-W50"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["week_key"] == "2026-W50"
    assert datetime.fromisoformat(body["opens_at"]) == _local("2026-12-07 00:00")
    assert datetime.fromisoformat(body["closes_at"]) == _local("2026-12-14 00:00")
    other = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=headers,
                        json={"week_key": NEXT_WEEK, "question_ids": [body["items"][0]["question"]["id"]]})
    assert other.status_code == 201
    clash = _patch(client, headers, other.get_json()["id"], {"week_key": "2026-W50"})
    _assert_error(clash, 409, "quiz_exists")
    assert db.session.get(Quiz, other.get_json()["id"]).week_key == NEXT_WEEK


@pytest.mark.parametrize("body, code", [
    ({"opens_at": "2026-12-05T18:00:00+08:00", "closes_at": "2026-12-01T09:00:00+08:00"}, "validation_error"),
    ({"closes_at": "2026-11-20T09:00:00+08:00"}, None),
    ({"closes_at": "2026-12-05T18:00:00"}, "validation_error"),  # no time zone
    ({"title": ""}, "validation_error"),
    ({"time_limit_minutes": 0}, "validation_error"),
    ({"pass_percent": 101}, "validation_error"),
    ({"question_ids": []}, "validation_error"),
    ({"question_ids": [1, 1]}, "validation_error"),
    ({"question_ids": [999999]}, "questions_unavailable"),
    ({"question_ids": [1], "rules": [{"count": 1}]}, "validation_error"),
    ({"week_key": "2026-W99"}, "validation_error"),
    ({"week_key": "W49"}, "validation_error"),
    ({"role": "admin"}, "validation_error"),
    ({"title": None}, "validation_error"),
])
def test_bad_settings_are_422_and_change_nothing(client, login, org, branch_quiz, body, code):
    before = client.get(f"/api/v1/quizzes/{branch_quiz['id']}", headers=login(org.secretary_a)).get_json()
    response = _patch(client, login(org.secretary_a), branch_quiz["id"], body)
    _assert_error(response, 422, code)
    assert client.get(f"/api/v1/quizzes/{branch_quiz['id']}", headers=login(org.secretary_a)).get_json() == before
    assert _edits(branch_quiz["id"]) == []


def test_questions_outside_the_owners_bank_are_refused(client, login, org, branch_quiz):
    foreign = make_question(org.committee_b, "judge", "乙党委自己的题目。", [], "T")
    other_branch = make_question(org.committee_a, "judge", "甲二支部自己的题目。", [], "T", branch=org.branch_a2)
    response = _patch(client, login(org.secretary_a), branch_quiz["id"],
                      {"question_ids": [foreign.id, other_branch.id]})
    body = _assert_error(response, 422, "questions_unavailable")
    assert body["details"]["question_ids"] == [foreign.id, other_branch.id]
    assert len(db.session.scalars(select(QuizItem).where(QuizItem.quiz_id == branch_quiz["id"])).all()) == 4


def test_only_the_quizs_own_managers_may_edit_it(client, login, org, branch_quiz, committee_quiz):
    # Another branch's secretary and another committee's admin do not see it at all.
    for outsider in (org.secretary_b, org.secretary_a2, org.admin_b):
        _assert_error(_patch(client, login(outsider), branch_quiz["id"], {"title": "改了"}), 404)
    # A branch secretary sees the committee's quiz but may not change it (as with DELETE).
    _assert_error(_patch(client, login(org.secretary_a), committee_quiz["id"], {"title": "改了"}), 403)
    _assert_error(_patch(client, login(org.member_a), branch_quiz["id"], {"title": "改了"}), 403)
    assert db.session.get(Quiz, branch_quiz["id"]).title == "第49周测验"
    assert db.session.get(Quiz, committee_quiz["id"]).title == "第48周测验"
    # The admin above the branch may edit its quiz.
    assert _patch(client, login(org.admin_a), branch_quiz["id"], {"title": "党委改的"}).status_code == 200


def test_members_see_a_new_title_at_once(client, login, org, committee_quiz):
    member = login(org.member_a)
    assert client.get("/api/v1/quizzes/current", headers=member).get_json()["quiz"]["title"] == "第48周测验"
    response = _patch(client, login(org.admin_a), committee_quiz["id"], {"title": "第48周测验：学习党章"})
    assert response.status_code == 200, response.get_json()
    current = client.get("/api/v1/quizzes/current", headers=member).get_json()
    assert current["quiz"]["title"] == "第48周测验：学习党章" and current["state"] == "not_started"


def test_a_member_read_racing_an_edit_never_caches_the_old_settings(client, login, org, committee_quiz,
                                                                    monkeypatch):
    from quizzes import definitions

    member = login(org.member_a)
    reads = []

    def read_then_edit_commits(quiz):
        data = original(quiz)  # the member's request has the old settings in hand ...
        if not reads:
            reads.append(data["title"])  # ... when the admin's edit commits and clears the cache
            response = _patch(client, login(org.admin_a), committee_quiz["id"], {"title": "改过的标题"})
            assert response.status_code == 200, response.get_json()
        return data

    original = definitions._to_data
    definitions.clear_definition(committee_quiz["id"], committee_quiz["week_key"])
    monkeypatch.setattr(definitions, "_to_data", read_then_edit_commits)
    raced = client.get("/api/v1/quizzes/current", headers=member).get_json()
    assert reads == ["第48周测验"] and raced["quiz"]["title"] == "第48周测验"  # that one answer is old ...
    monkeypatch.setattr(definitions, "_to_data", original)
    # ... but it was not cached: the next read shows the edit.
    assert client.get("/api/v1/quizzes/current", headers=member).get_json()["quiz"]["title"] == "改过的标题"


def test_an_open_quiz_nobody_started_keeps_its_questions(client, login, org, bank, committee_quiz):
    response = _patch(client, login(org.admin_a), committee_quiz["id"], {"question_ids": [bank[0].id]})
    body = _assert_error(response, 409, "quiz_open")
    assert list(body["details"]["fields"]) == ["question_ids"]
    assert len(db.session.get(Quiz, committee_quiz["id"]).items) == 4


def test_once_a_member_started_only_title_and_close_may_change(client, login, org, bank, committee_quiz):
    admin, quiz_id = login(org.admin_a), committee_quiz["id"]
    assert client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=login(org.member_a)).status_code == 201
    before = client.get(f"/api/v1/quizzes/{quiz_id}", headers=admin).get_json()
    for body in ({"question_ids": [bank[0].id]}, {"rules": [{"count": 1}]}, {"time_limit_minutes": 30},
                 {"points_per_question": 20}, {"pass_percent": 90}, {"max_attempts": 3},
                 {"opens_at": _iso("2026-11-23 12:00")}, {"title": "新标题", "time_limit_minutes": 30}):
        response = _patch(client, admin, quiz_id, body)
        error = _assert_error(response, 409, "quiz_started")
        assert "title" not in error["details"]["fields"] and error["details"]["fields"]
    assert client.get(f"/api/v1/quizzes/{quiz_id}", headers=admin).get_json() == before
    # A form sent back with its unchanged values plus a new title is fine.
    unchanged = {name: before[name] for name in ("time_limit_minutes", "max_attempts", "reveal_answers", "opens_at")}
    unchanged["question_ids"] = [item["question"]["id"] for item in before["items"]]
    response = _patch(client, admin, quiz_id, {**unchanged, "pass_percent": 60, "title": "第48周测验（更正）"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["title"] == "第48周测验（更正）"
    [entry] = _edits(quiz_id)
    assert entry.actor_id == org.admin_a.id and set(entry.details["changes"]) == {"title"}


def test_an_extended_close_keeps_the_attempt_going_and_answers_hidden(client, login, fake_wechat, org, frozen, bank,
                                                                     committee_quiz):
    quiz_id = committee_quiz["id"]
    early = login(org.member_a2)
    frozen("2026-11-29 23:40")
    done = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=early).get_json()
    client.post(f"/api/v1/attempts/{done['id']}/submit", headers=early, json={"answers": answers_for(bank)})
    frozen("2026-11-29 23:50")
    late_starter = login(org.member_a)
    attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=late_starter).get_json()
    assert attempt["seconds_left"] == 600  # capped by the close at midnight
    response = _patch(client, login(org.admin_a), quiz_id, {"closes_at": _iso("2026-11-30 12:00")})
    assert response.status_code == 200, response.get_json()
    [entry] = _edits(quiz_id)
    assert [datetime.fromisoformat(t) for t in entry.details["changes"]["closes_at"]] == [
        _local("2026-11-30 00:00"), _local("2026-11-30 12:00")]
    assert db.session.get(Attempt, attempt["id"]).deadline_at == _local("2026-11-30 00:05")  # the full 15 minutes
    # Past the old close and its grace: the attempt still saves and submits, on time.
    frozen("2026-11-30 00:03")
    saved = client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=late_starter,
                       json={"answers": answers_for(bank, only={"single"})})
    assert saved.status_code == 200, saved.get_json()
    submitted = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=late_starter,
                            json={"answers": answers_for(bank, only={"judge"})})
    assert submitted.status_code == 200, submitted.get_json()
    result = submitted.get_json()["result"]
    assert result["score"] == 20 and result["late"] is False
    # The quiz is still open, so nobody's payload carries an answer yet, not even the early finisher's.
    for headers, attempt_id in ((early, done["id"]), (late_starter, attempt["id"])):
        shown = client.get(f"/api/v1/attempts/{attempt_id}", headers=headers).get_json()
        assert shown["answers_revealed"] is False
        assert_no_answers(shown, bank)
        assert_no_answers(client.get("/api/v1/me/quizzes", headers=headers).get_json(), bank)
    assert client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=login(org.secretary_a)).status_code == 201
    # Once past the new close and its grace, with the attempt left open graded, the answers are revealed (so the
    # scan above could have failed).
    frozen("2026-11-30 12:02")
    close_due_quizzes(clock.now())
    early = login_headers(client, fake_wechat, org.member_a2)  # a week on, the first session has expired
    shown = client.get(f"/api/v1/attempts/{done['id']}", headers=early).get_json()
    assert shown["answers_revealed"] is True and all("answer" in q for q in shown["questions"])


def test_a_close_cannot_move_into_the_past_and_a_shorter_one_cuts_attempts(client, login, org, frozen, bank,
                                                                          committee_quiz):
    quiz_id, admin, member = committee_quiz["id"], login(org.admin_a), login(org.member_a)
    frozen("2026-11-25 10:00")
    attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=member).get_json()
    for moment in ("2026-11-25 09:59", "2026-11-25 10:00", "2026-11-24 10:00"):
        _assert_error(_patch(client, admin, quiz_id, {"closes_at": _iso(moment)}), 409, "closes_in_past")
    assert db.session.get(Quiz, quiz_id).closes_at == _local("2026-11-30 00:00")
    response = _patch(client, admin, quiz_id, {"closes_at": _iso("2026-11-25 10:05")})
    assert response.status_code == 200, response.get_json()
    assert db.session.get(Attempt, attempt["id"]).deadline_at == _local("2026-11-25 10:05")
    assert client.get(f"/api/v1/attempts/{attempt['id']}", headers=member).get_json()["seconds_left"] == 300
    frozen("2026-11-25 10:07")
    late = client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=member,
                      json={"answers": answers_for(bank)})
    _assert_error(late, 409, "attempt_expired")


def test_a_closed_quiz_is_final(client, login, org, frozen, committee_quiz):
    frozen("2026-11-30 00:00")
    for body in ({"title": "改个标题"}, {"closes_at": _iso("2026-12-01 00:00")}):
        _assert_error(_patch(client, login(org.admin_a), committee_quiz["id"], body), 409, "quiz_closed")
    assert db.session.get(Quiz, committee_quiz["id"]).title == "第48周测验"


def test_the_jobs_follow_a_moved_close(client, login, org, frozen, committee_quiz):
    from notifications import jobs
    from notifications.models import Notification
    from quizzes.services import close_due_quizzes

    quiz_id = committee_quiz["id"]
    assert _patch(client, login(org.admin_a), quiz_id, {"closes_at": _iso("2026-12-02 20:00")}).status_code == 200
    frozen("2026-11-29 12:00")
    assert jobs.run_quiz_reminder(clock.now()) > 0
    bodies = db.session.scalars(select(Notification.body).where(Notification.kind == "quiz_reminder")).all()
    assert bodies and all("2026年12月2日 20:00" in b for b in bodies)
    # The old close passes: the quiz is still open, nothing is graded or announced.
    assert close_due_quizzes(_local("2026-11-30 00:05")) == []
    assert db.session.get(Quiz, quiz_id).closed_at is None
    closed = close_due_quizzes(_local("2026-12-02 20:00") + timedelta(minutes=2))
    assert [q.id for q in closed] == [quiz_id]
