"""The quiz jobs follow each quiz's own (possibly moved) window, announce each quiz once, and stay cheap when idle."""

import pytest
from sqlalchemy import event, select

from core import clock
from core.extensions import db
from notifications import jobs
from notifications.models import JobRun, Notification
from notifications.scheduler import Scheduler
from quizzes.models import Attempt, Quiz
from tests.factories import local_time as _local
from tests.notifications.helpers import rows, send_all
from tests.notifications.test_concurrency import AlwaysLeader, _in_threads
from tests.quizzes.helpers import answers_for, make_bank

QUIZ_OPEN = "tmpl-quiz-open"


def _audience_a(org):
    return sorted([org.member_a.id, org.member_a2.id, org.member_a2_branch.id, org.secretary_a.id,
                   org.secretary_a2.id])


def _recipients(kind):
    return sorted(r.member_id for r in rows(kind=kind))


def _make_quiz(client, login, committee, admin, title):
    """Week 48's quiz of a committee, made on the Sunday before with the default window (Mon 00:00 to Mon 00:00)."""
    bank = make_bank(committee)
    response = client.post(f"/api/v1/committees/{committee.id}/quizzes", headers=login(admin), json={
        "week_key": "2026-W48", "title": title, "question_ids": [q.id for q in bank]})
    assert response.status_code == 201, response.get_json()
    return {"id": response.get_json()["id"], "bank": bank}


def _move(client, headers, quiz, **times):
    body = {name: _local(value).isoformat() for name, value in times.items()}
    response = client.patch(f"/api/v1/quizzes/{quiz['id']}", headers=headers, json=body)
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def quiz_a(client, login, org, frozen):
    frozen("2026-11-22 20:00")
    return _make_quiz(client, login, org.committee_a, org.admin_a, "第48周测验")


def _tick(app, job, moment, runner):
    """What the scheduler does at `moment` (Asia/Shanghai) for `job`: run it for its latest due time, if any."""
    clock.freeze(_local(moment))
    db.session.commit()  # the scheduler works in its own app context and session
    return runner.tick(job)


def _runs(job):
    db.session.expire_all()
    return db.session.scalars(select(JobRun).where(JobRun.job == job)).all()


def test_a_quiz_moved_to_open_wednesday_afternoon_is_announced_once_soon_after(app, client, login, org, fake_wechat,
                                                                              quiz_a):
    _move(client, login(org.admin_a), quiz_a, opens_at="2026-11-25 14:00")
    headers = login(org.member_a)
    client.post("/api/v1/me/subscriptions", headers=headers, json={
        "request_id": "r1", "results": [{"template_id": QUIZ_OPEN, "result": "accept"}]})
    fake_wechat.grant_consent(org.member_a.openid, QUIZ_OPEN)
    runner = Scheduler(app)

    for moment in ("2026-11-23 08:00", "2026-11-24 12:00", "2026-11-25 13:45"):
        assert _tick(app, "quiz_open", moment, runner) == 0  # not open yet: nothing said
    assert rows(kind="quiz_open") == []

    assert _tick(app, "quiz_open", "2026-11-25 14:15", runner) == 5
    assert _recipients("quiz_open") == _audience_a(org)
    send_all()
    [pushed] = fake_wechat.messages(touser=org.member_a.openid, template_id=QUIZ_OPEN)
    assert pushed["data"]["thing1"] == "第48周测验"

    for moment in ("2026-11-25 14:30", "2026-11-26 08:00", "2026-11-29 21:45"):
        assert _tick(app, "quiz_open", moment, runner) == 0
    assert _recipients("quiz_open") == _audience_a(org)  # still one each
    send_all()
    assert len(fake_wechat.messages(touser=org.member_a.openid, template_id=QUIZ_OPEN)) == 1
    [run] = _runs("quiz_open")
    assert (run.period, run.status, run.enqueued) == (f"quiz{quiz_a['id']}", "done", 5)


def test_a_quiz_opening_late_at_night_is_announced_the_next_morning(app, client, login, org, quiz_a):
    _move(client, login(org.admin_a), quiz_a, opens_at="2026-11-25 23:00")
    runner = Scheduler(app)

    assert _tick(app, "quiz_open", "2026-11-25 21:45", runner) == 0
    assert _tick(app, "quiz_open", "2026-11-25 23:15", runner) is None  # no run in the night, no catch-up either
    assert _tick(app, "quiz_open", "2026-11-26 07:59", runner) is None
    assert rows(kind="quiz_open") == []
    assert _tick(app, "quiz_open", "2026-11-26 08:00", runner) == 5
    assert _recipients("quiz_open") == _audience_a(org)
    assert all(r.created_at == _local("2026-11-26 08:00") for r in rows(kind="quiz_open"))


def test_a_quiz_opening_monday_midnight_is_announced_at_08_00(app, org, quiz_a):
    runner = Scheduler(app)
    assert _tick(app, "quiz_open", "2026-11-23 00:15", runner) is None
    assert _tick(app, "quiz_open", "2026-11-23 08:00", runner) == 5
    assert _tick(app, "quiz_open", "2026-11-23 08:15", runner) == 0


@pytest.mark.parametrize("job, moment", [("quiz_open", "2026-11-25 14:15"), ("quiz_results", "2026-11-25 18:05")])
def test_two_schedulers_at_once_announce_a_quiz_once(app, client, login, org, quiz_a, job, moment):
    if job == "quiz_open":
        _move(client, login(org.admin_a), quiz_a, opens_at="2026-11-25 14:00")
    else:
        clock.freeze(_local("2026-11-24 09:00"))
        _move(client, login(org.admin_a), quiz_a, closes_at="2026-11-25 18:00")
    clock.freeze(_local(moment))
    db.session.commit()
    runners = [Scheduler(app, lock=AlwaysLeader(30)), Scheduler(app, lock=AlwaysLeader(30))]
    results = []
    _in_threads(app, lambda i: results.append(runners[i].tick(job)))

    assert sorted(results) == [0, 5]
    kind = "quiz_open" if job == "quiz_open" else "quiz_result"
    assert _recipients(kind) == _audience_a(org)
    assert [run.status for run in _runs(job)] == ["done"]


def test_a_close_moved_to_wednesday_evening_is_closed_graded_and_announced_within_minutes(app, client, login, org,
                                                                                         frozen, quiz_a):
    frozen("2026-11-24 09:00")
    _move(client, login(org.admin_a), quiz_a, closes_at="2026-11-25 18:00")
    member = login(org.member_a)
    frozen("2026-11-25 17:50")
    attempt = client.post(f"/api/v1/quizzes/{quiz_a['id']}/attempts", headers=member).get_json()
    saved = client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=member,
                       json={"answers": answers_for(quiz_a["bank"])})
    assert saved.status_code == 200, saved.get_json()  # saved, never submitted: the phone went away
    runner = Scheduler(app)

    assert _tick(app, "quiz_results", "2026-11-25 18:00", runner) == 0  # within the submit grace: still open
    assert db.session.get(Quiz, quiz_a["id"]).closed_at is None
    assert _tick(app, "quiz_results", "2026-11-25 18:05", runner) == 5

    db.session.expire_all()
    assert db.session.get(Quiz, quiz_a["id"]).closed_at == _local("2026-11-25 18:05")
    graded = db.session.get(Attempt, attempt["id"])
    assert (graded.status, graded.score, graded.submitted_at) == ("submitted", 40, _local("2026-11-25 18:01"))
    assert _recipients("quiz_result") == _audience_a(org)
    mine = next(r for r in rows(kind="quiz_result") if r.member_id == org.member_a.id)
    assert mine.payload["data"]["number2"] == "40" and mine.payload["data"]["phrase3"] == "合格"
    page = client.get("/api/v1/me/quizzes", headers=member).get_json()
    assert [(i["quiz"]["id"], i["result"]["score"]) for i in page["items"]] == [(quiz_a["id"], 40)]

    for moment in ("2026-11-25 18:10", "2026-11-26 00:00", "2026-11-30 00:05"):
        assert _tick(app, "quiz_results", moment, runner) == 0  # announced once, never again
    assert len(rows(kind="quiz_result")) == 5
    [run] = _runs("quiz_results")
    assert (run.period, run.enqueued) == (f"quiz{quiz_a['id']}", 5)


def test_nothing_due_is_one_query_and_queues_nothing(app, client, login, org, quiz_a):
    runner = Scheduler(app)
    assert _tick(app, "quiz_open", "2026-11-23 08:00", runner) == 5  # announced; closes Monday next
    before = db.session.scalar(select(db.func.count()).select_from(Notification))
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        clock.freeze(_local("2026-11-25 14:15"))
        assert jobs.run_quiz_open(clock.now()) == 0
        assert jobs.run_quiz_results(clock.now()) == 0
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert len(statements) == 2 and all(s.lstrip().upper().startswith("SELECT") for s in statements), statements
    assert db.session.scalar(select(db.func.count()).select_from(Notification)) == before
    assert len(_runs("quiz_open")) == 1 and _runs("quiz_results") == []


def test_reminders_skip_a_quiz_not_yet_open_or_already_closed(app, client, login, org, frozen, quiz_a):
    quiz_b = _make_quiz(client, login, org.committee_b, org.admin_b, "乙党委第48周测验")
    _move(client, login(org.admin_a), quiz_a, opens_at="2026-11-27 09:00")  # opens Friday
    frozen("2026-11-24 09:00")
    _move(client, login(org.admin_b), quiz_b, closes_at="2026-11-25 18:00")  # closed Wednesday

    frozen("2026-11-26 20:00")
    assert jobs.run_quiz_reminder(clock.now()) == 0
    assert rows(kind="quiz_reminder") == []
    frozen("2026-11-29 12:00")
    assert jobs.run_quiz_reminder(clock.now()) == 5
    assert _recipients("quiz_reminder") == _audience_a(org)


def test_after_downtime_one_run_catches_up_every_quiz_due_in_it(app, client, login, org, frozen, quiz_a):
    quiz_b = _make_quiz(client, login, org.committee_b, org.admin_b, "乙党委第48周测验")
    _move(client, login(org.admin_b), quiz_b, opens_at="2026-11-25 13:00")
    runner = Scheduler(app)
    assert _tick(app, "quiz_open", "2026-11-23 08:00", runner) == 5  # A's quiz; B's opens Wednesday
    frozen("2026-11-24 09:00")
    _move(client, login(org.admin_a), quiz_a, closes_at="2026-11-25 14:00")

    # The scheduler is down from Wednesday 12:00 to 19:02: B opened and A closed meanwhile.
    frozen("2026-11-25 19:02")
    db.session.commit()
    calls = []
    for name in ("quiz_open", "quiz_results"):
        job = runner.jobs[name]
        runner.jobs = {**runner.jobs, name: lambda now, job=job, name=name: calls.append((name, now)) or job(now)}
    done = runner.catch_up()

    assert sorted(calls) == [("quiz_open", _local("2026-11-25 19:00")), ("quiz_results", _local("2026-11-25 19:00"))]
    assert done["quiz_open"] == 2 and done["quiz_results"] == 5
    assert _recipients("quiz_open") == sorted(_audience_a(org) + [org.member_b.id, org.secretary_b.id])
    assert _recipients("quiz_result") == _audience_a(org)
    assert db.session.get(Quiz, quiz_a["id"]).closed_at is not None
    sched = runner.build()
    for name in ("quiz_open", "quiz_results"):
        job = sched.get_job(name)
        assert job.coalesce is True and job.max_instances == 1  # missed fire times while stalled run once


def test_a_results_notice_is_not_sent_a_day_late_but_the_quiz_is_still_closed(app, client, login, org, frozen,
                                                                               quiz_a):
    frozen("2026-11-24 09:00")
    _move(client, login(org.admin_a), quiz_a, closes_at="2026-11-25 18:00")
    # The scheduler was down two days: the quiz is closed and graded, the stale notice is not sent.
    runner = Scheduler(app)
    assert _tick(app, "quiz_results", "2026-11-27 19:00", runner) == 0
    db.session.expire_all()
    assert db.session.get(Quiz, quiz_a["id"]).closed_at == _local("2026-11-27 19:00")
    assert rows(kind="quiz_result") == []
    assert [(run.status, run.enqueued) for run in _runs("quiz_results")] == [("done", 0)]
    assert _tick(app, "quiz_results", "2026-11-27 19:05", runner) == 0
