"""Moving the clock through each job's schedule in Asia/Shanghai, with the rooms' real data behind it."""
from datetime import timedelta

import pytest

from core import clock
from core.extensions import db
from notifications import jobs
from notifications.models import JobRun, Notification
from notifications.scheduler import Scheduler, last_fire_time, triggers
from tests.factories import local_time as _local
from tests.learning.helpers import publish
from tests.notifications.helpers import rows
from tests.quizzes.helpers import answers_for, make_bank


def _recipients(kind):
    return sorted(r.member_id for r in rows(kind=kind))


@pytest.mark.parametrize("job, after, expected", [
    ("daily_material", "2026-11-23 07:59", "2026-11-23 08:00"),
    ("daily_material", "2026-11-23 08:00", "2026-11-24 08:00"),
    ("quiz_open", "2026-11-23 00:00", "2026-11-23 08:00"),  # a quiz opening at midnight waits for the morning
    ("quiz_open", "2026-11-25 14:00", "2026-11-25 14:15"),  # every quarter hour in the day, any day
    ("quiz_open", "2026-11-25 21:45", "2026-11-26 08:00"),  # never in the night
    ("quiz_reminder_thu", "2026-11-23 08:00", "2026-11-26 20:00"),
    ("quiz_reminder_sun", "2026-11-23 08:00", "2026-11-29 12:00"),
    ("quiz_results", "2026-11-25 18:00", "2026-11-25 18:05"),  # every 5 minutes, any hour
    ("quiz_results", "2026-11-29 23:55", "2026-11-30 00:00"),
    ("quota_monthly", "2026-11-21 12:00", "2026-12-01 09:00"),
    ("quota_quarterly", "2026-11-21 12:00", "2027-01-01 09:30"),
    ("secretary_digest", "2026-11-23 09:00", "2026-11-30 09:00"),
])
def test_each_job_fires_at_its_shanghai_wall_clock_time(app, job, after, expected):
    trigger = triggers(app.config["SCHEDULE"])[job]
    fire = trigger.get_next_fire_time(None, _local(after) + timedelta(seconds=1))
    assert fire.astimezone(clock.TZ).replace(tzinfo=None) == _local(expected).replace(tzinfo=None)


def test_last_fire_time_looks_back_within_the_window(app):
    trigger = triggers(app.config["SCHEDULE"])["daily_material"]
    now = _local("2026-11-23 10:30").astimezone(clock.UTC)
    assert last_fire_time(trigger, now, timedelta(hours=6)) == _local("2026-11-23 08:00")
    assert last_fire_time(trigger, now, timedelta(hours=2)) is None


def test_daily_material_goes_at_08_00_to_members_who_have_some_once(app, client, org, login, frozen):
    frozen("2026-11-23 07:30")
    publish(client, login(org.secretary_a), day="2026-11-23")
    publish(client, login(org.secretary_b), day="2026-11-24")  # branch B has nothing today
    frozen("2026-11-23 08:00")

    db.session.commit()  # the scheduler works in its own app context and session
    runner = Scheduler(app)
    assert runner.tick("daily_material") == 3
    assert runner.tick("daily_material") is None  # the same period never runs twice
    assert _recipients("study_material") == sorted([org.member_a.id, org.member_a2.id, org.secretary_a.id])
    row = rows(kind="study_material")[0]
    assert row.payload["data"]["date2"] == "2026年11月23日"
    assert db.session.scalars(db.select(JobRun)).one().period == "2026-11-23"


@pytest.fixture
def week_quiz(client, login, org, frozen):
    frozen("2026-11-22 20:00")
    bank = make_bank(org.committee_a)
    response = client.post(f"/api/v1/committees/{org.committee_a.id}/quizzes", headers=login(org.admin_a), json={
        "week_key": "2026-W48", "title": "第48周测验", "question_ids": [q.id for q in bank], "pass_percent": 60})
    assert response.status_code == 201, response.get_json()
    return {"id": response.get_json()["id"], "bank": bank}


def _submit(client, headers, quiz):
    attempt = client.post(f"/api/v1/quizzes/{quiz['id']}/attempts", headers=headers).get_json()
    client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers=headers,
               json={"answers": answers_for(quiz["bank"])})
    assert client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers, json={}).status_code == 200


def test_a_quiz_week_open_reminders_and_results(app, client, org, login, frozen, week_quiz):
    audience = sorted([org.member_a.id, org.member_a2.id, org.member_a2_branch.id, org.secretary_a.id,
                       org.secretary_a2.id])
    frozen("2026-11-23 08:00")
    assert jobs.run_quiz_open(clock.now()) == 5
    assert _recipients("quiz_open") == audience

    _submit(client, login(org.member_a), week_quiz)

    frozen("2026-11-26 20:00")
    assert jobs.run_quiz_reminder(clock.now()) == 4
    assert org.member_a.id not in _recipients("quiz_reminder")
    _submit(client, login(org.member_a2), week_quiz)
    frozen("2026-11-29 12:00")
    assert jobs.run_quiz_reminder(clock.now()) == 3  # Sunday's reminder: only those still missing
    assert jobs.run_quiz_reminder(clock.now()) is None

    frozen("2026-11-30 00:05")
    assert jobs.run_quiz_results(clock.now()) == 5
    assert _recipients("quiz_result") == audience
    frozen("2026-11-30 00:10")
    assert jobs.run_quiz_results(clock.now()) == 0  # already closed: nothing new to announce
    results = {r.member_id: r for r in rows(kind="quiz_result")}
    mine = results[org.member_a.id]
    assert mine.title == "第48周测验成绩已公布" and mine.payload["page"].startswith("pages/quiz/result")
    assert mine.payload["data"]["number2"] == "40" and mine.payload["data"]["phrase3"] == "合格"
    assert results[org.member_a2_branch.id].payload["data"]["phrase3"] == "未参加"


def test_the_monthly_quota_reminder_goes_to_members_behind_pace(app, org, frozen):
    frozen("2026-12-01 09:00")
    sent = jobs.run_quota_monthly(clock.now())
    members_with_branch = [m for m in vars(org).values() if getattr(m, "branch_id", None)]
    assert sent == len(members_with_branch)  # nobody has any 1+4+1 record by December
    assert rows(kind="quota_reminder")[0].idem_key.startswith("quota_reminder:2026-12:")
    from quotas.models import QuotaPosting

    posted = db.session.scalars(db.select(QuotaPosting)).all()
    assert sorted(p.branch_id for p in posted) == sorted([org.branch_a.id, org.branch_a2.id, org.branch_b.id])
    assert jobs.run_quota_monthly(clock.now()) is None


def test_the_quarterly_tally_goes_to_each_branch_secretary(app, org, frozen):
    frozen("2026-10-01 09:30")
    assert jobs.run_quota_quarterly(clock.now()) == 3
    assert _recipients("quota_tally") == sorted([org.secretary_a.id, org.secretary_a2.id, org.secretary_b.id])
    tally = next(r for r in rows(kind="quota_tally") if r.member_id == org.secretary_a.id)
    assert "已完成 0/3 人" in tally.body


def test_the_monday_digest_reaches_secretaries_and_the_group_chat(app, client, org, login, frozen, fake_wechat,
                                                               week_quiz):
    fake_wechat.add_webhook("robot-key-branch-a1")
    client.put(f"/api/v1/branches/{org.branch_a.id}/wecom-robot", headers=login(org.secretary_a),
               json={"webhook_key": "robot-key-branch-a1"})
    frozen("2026-11-23 08:00")
    publish(client, login(org.secretary_a), day="2026-11-23")
    _submit(client, login(org.member_a), week_quiz)

    frozen("2026-11-30 09:00")
    jobs.run_secretary_digest(clock.now())
    assert _recipients("secretary_digest") == sorted([org.secretary_a.id, org.secretary_a2.id, org.secretary_b.id])
    digest = next(r for r in rows(kind="secretary_digest") if r.member_id == org.secretary_a.id)
    assert digest.title == "甲一支部上周学习周报"
    assert "学习完成率" in digest.body and "测验参与率：33%" in digest.body and "李四" in digest.body
    [robot] = rows(kind="branch_digest")
    assert robot.branch_id == org.branch_a.id and robot.idem_key == f"branch_digest:2026-W48:b{org.branch_a.id}"

    from tests.notifications.helpers import send_all

    send_all()
    [chat] = fake_wechat.webhook_messages(key="robot-key-branch-a1")
    assert chat["markdown"]["content"].startswith("**甲一支部上周学习周报**")


def test_a_job_that_fails_runs_once_its_claim_goes_stale(app, org, frozen, monkeypatch):
    frozen("2026-12-01 09:00")
    def broken():
        raise RuntimeError("the job's body fails (any error will do)")

    monkeypatch.setattr(jobs, "post_all_branches", broken)
    assert jobs.JOB_STALE == timedelta(minutes=30)
    with pytest.raises(RuntimeError):
        jobs.run_quota_monthly(clock.now())
    db.session.rollback()
    assert [(r.job, r.status) for r in db.session.scalars(db.select(JobRun))] == [("quota_monthly", "running")]
    assert rows(kind="quota_reminder") == []
    monkeypatch.undo()
    frozen("2026-12-01 09:20")  # another tick while the failed claim is fresh: it could still be running
    assert jobs.run_quota_monthly(clock.now()) is None
    frozen("2026-12-01 09:31")  # stale: retaken, and it runs once
    assert jobs.run_quota_monthly(clock.now()) > 0
    assert db.session.scalar(db.select(JobRun.status).where(JobRun.job == "quota_monthly")) == "done"
    assert jobs.run_quota_monthly(clock.now()) is None


def test_after_downtime_a_missed_job_runs_once_if_it_still_makes_sense(app, client, org, login, frozen):
    frozen("2026-11-23 07:00")
    publish(client, login(org.secretary_a), day="2026-11-23")

    db.session.commit()  # the scheduler works in its own app context and session
    frozen("2026-11-23 15:00")  # started seven hours late: today's material push no longer makes sense
    runner = Scheduler(app)
    assert runner.catch_up()["daily_material"] is None
    assert rows(kind="study_material") == []
    db.session.commit()

    frozen("2026-11-23 10:30")  # back within the window: it runs, once, for 08:00's period
    assert runner.catch_up()["daily_material"] == 3
    with app.app_context():
        runner.lock.release()  # a restarted process (a new leader) does not run it again
    assert Scheduler(app).catch_up()["daily_material"] is None
    assert db.session.scalar(db.select(db.func.count()).select_from(Notification)
                             .where(Notification.kind == "study_material")) == 3


def test_with_the_catch_up_off_a_started_scheduler_runs_nothing_missed(app, client, org, login, frozen, monkeypatch):
    frozen("2026-11-23 07:00")
    publish(client, login(org.secretary_a), day="2026-11-23")
    db.session.commit()
    frozen("2026-11-23 10:30")  # within the material push's window: caught up when the catch-up is on
    monkeypatch.setitem(app.config, "SCHEDULER_CATCH_UP", False)
    assert Scheduler(app).catch_up() == {}
    assert rows(kind="study_material") == []
    db.session.commit()
    monkeypatch.setitem(app.config, "SCHEDULER_CATCH_UP", True)
    runner = Scheduler(app)
    assert runner.catch_up()["daily_material"] == 3
    with app.app_context():
        runner.lock.release()


def test_a_run_that_died_half_way_is_resumed_after_it_goes_stale(app, org, frozen):
    frozen("2026-12-01 09:00")
    assert jobs.claim_run("quota_monthly", "2026-12") is True  # a scheduler took it, then died
    assert jobs.run_quota_monthly(clock.now()) is None
    frozen("2026-12-01 09:31")
    assert jobs.run_quota_monthly(clock.now()) > 0
