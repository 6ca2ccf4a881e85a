"""The scheduled jobs, as plain functions run_<job>(now) that the scheduler (and tests) call.

`now` is the moment the job was due (the scheduler passes the cron fire time, also on a catch-up), so the
period — local day, ISO week, month, quarter — is the one the run belongs to. Each run is recorded in
job_runs under (job, period): a second scheduler, a re-run or a catch-up of the same period does nothing.
The quiz open and results jobs run every few minutes and follow each quiz's own window, so they are keyed per
quiz instead (period "quiz<id>"): a run finds, in one indexed query, the quizzes due and not yet done, and
writes job_runs rows only for those — two rows per quiz, not one per run.
A run that died half-way is resumed after JOB_STALE (the idempotency keys only fill the gaps).
"""
import logging
from datetime import timedelta

from sqlalchemy import Select, String, cast, func, literal, select, update

from core import clock
from core.db import dialect_insert
from core.extensions import db
from learning.services import branch_today, members_with_material
from learning.stats import branch_reading_summary
from members.models import Branch, Member
from members.scope import secretaries_clause
from notifications import content
from notifications.models import JobRun
from notifications.rules import robot_markdown
from notifications.services import fan_out, notify_branch_robot
from quizzes.audience import quiz_audience
from quizzes.models import Quiz
from quizzes.services import close_due_quizzes, open_quizzes, quizzes_due_between
from quizzes.stats import branch_quiz_summary, members_not_submitted
from quotas.services import post_all_branches, settle_held_exchanges
from quotas.stats import branch_tally, members_behind_pace

log = logging.getLogger(__name__)

JOB_STALE = timedelta(minutes=30)
BRANCH_CHUNK = 200
# The results job looks back this far for quizzes to close and announce (one range on quizzes.closes_at, so a
# run stays one small indexed query however many quizzes the years add); it covers any plausible downtime.
RESULTS_LOOKBACK = timedelta(days=7)
# A results notice later than this after the close is not sent (the quiz is still closed and graded): after a
# long downtime, or on the first run for quizzes announced before results were keyed per quiz.
RESULTS_NOTICE_WITHIN = timedelta(hours=24)
# The per-quiz jobs key their runs "quiz<id>": written in Python by _run_per_quiz, matched in SQL by _not_done.
QUIZ_PERIOD = "quiz"


def claim_run(job, period):
    """Take the run of `job` for `period`; False if it is done or another process is running it."""
    now = clock.now()
    inserted = db.session.execute(
        dialect_insert(JobRun).on_conflict_do_nothing(index_elements=["job", "period"]).returning(JobRun.id),
        [{"job": job, "period": period, "status": "running", "started_at": now, "enqueued": 0}]).all()
    db.session.commit()
    if inserted:
        return True
    run = db.session.scalar(select(JobRun).where(JobRun.job == job, JobRun.period == period))
    if run.status == "done" or run.started_at > now - JOB_STALE:
        return False
    taken = db.session.execute(update(JobRun).where(JobRun.id == run.id, JobRun.started_at == run.started_at)
                               .values(started_at=now)).rowcount
    db.session.commit()
    return taken == 1


def finish_run(job, period, enqueued):
    db.session.execute(update(JobRun).where(JobRun.job == job, JobRun.period == period).values(
        status="done", finished_at=clock.now(), enqueued=enqueued))
    db.session.commit()


def _run(job, period, body):
    """Run body() once for (job, period); return how many notifications it queued, or None if skipped."""
    if not claim_run(job, period):
        log.info("job %s period=%s already done or running; skipped", job, period)
        return None
    # A body that fails leaves the run 'running': claim_run retakes it once JOB_STALE has passed.
    enqueued = body()
    finish_run(job, period, enqueued)
    log.info("job %s period=%s enqueued=%s", job, period, enqueued)
    return enqueued


def run_daily_material(now):
    """08:00 daily: today's material to every member who has some."""
    day = clock.local_day_of(now)

    def body():
        return fan_out(members_with_material(day), "study_material", day.isoformat(),
                       content.study_material_message(day))

    return _run("daily_material", day.isoformat(), body)


def run_reading_day(now):
    """00:05 daily: every branch's list today and its members' streaks, built into the cache before the morning
    (learning.services.branch_today; a branch it missed is built by its first reader). Queues nothing."""
    day = clock.local_day_of(now)

    def body():
        log.info("reading day %s: %s branches prepared", day, prepare_reading_day(day))
        return 0

    return _run("reading_day", day.isoformat(), body)


def prepare_reading_day(day):
    """Build every branch's entries for `day` (learning.services.branch_today), a chunk of branches at a time; returns
    how many branches were built (it stops if Redis fails). Also `flask reading-day`."""
    done = 0
    for branches in _branch_chunks():
        built = branch_today.build([b.id for b in branches], day)
        db.session.rollback()  # end the chunk's read transaction; nothing was written
        if not built:
            break
        done += len(built)
    return done


def run_quiz_open(now):
    """Every quarter hour in the day: announce each quiz open at `now` to its audience, once per quiz."""

    def due():
        return _not_done("quiz_open", open_quizzes(now))

    def announce(quiz):
        return fan_out(quiz_audience(quiz), "quiz_open", f"quiz{quiz.id}", content.quiz_open_message(quiz))

    return _run_per_quiz("quiz_open", due, announce)


def run_quiz_reminder(now):
    """Thursday 20:00 and Sunday 12:00: a reminder to those who have not submitted an open quiz."""
    day = clock.local_day_of(now)

    def body():
        return sum(fan_out(members_not_submitted(q), "quiz_reminder", f"quiz{q.id}:{day.isoformat()}",
                           content.quiz_reminder_message(q))
                   for q in _quizzes(open_quizzes(now)))

    return _run("quiz_reminder", day.isoformat(), body)


def run_quiz_results(now):
    """Every 5 minutes: close the quizzes due (grading attempts left open) and announce each one's results, once."""

    def due():
        found = _quizzes(_not_done("quiz_results", quizzes_due_between(now - RESULTS_LOOKBACK, now)))
        if not found:
            return []
        close_due_quizzes(now)  # these, and any older quiz still open (after a downtime beyond the lookback)
        # Re-read: another scheduler may be closing some of them; its stamp commits with its grading, so a quiz
        # announced here is always graded, whichever process closed it.
        db.session.expire_all()
        return [quiz for quiz in found if quiz.closed_at is not None]

    def announce(quiz):
        if quiz.closes_at < now - RESULTS_NOTICE_WITHIN:
            log.info("quiz %s closed too long ago to announce its results", quiz.id)
            return 0
        return fan_out(quiz_audience(quiz), "quiz_result", f"quiz{quiz.id}", content.quiz_results_for(quiz))

    return _run_per_quiz("quiz_results", due, announce)


def run_quota_monthly(now):
    """The 1st, 09:00: post each branch's 1+4+1 table, and remind members behind pace."""
    day = clock.local_day_of(now)
    period = f"{day.year}-{day.month:02d}"

    def body():
        post_all_branches()  # the month's 公示 table for every branch (idempotent per month)
        db.session.commit()
        return fan_out(members_behind_pace(day.year, day), "quota_reminder", period,
                       content.quota_reminder_message(day.year, now))

    return _run("quota_monthly", period, body)


def run_quota_quarterly(now):
    """Each quarter: every branch's tally to its secretary (the previous quarter's standing, this year)."""
    day = clock.local_day_of(now)
    year = day.year if day.month > 1 else day.year - 1  # on 1 January the tally is last year's
    period = f"{day.year}-Q{(day.month - 1) // 3 + 1}"

    def body():
        total = 0
        for branches in _branch_chunks():
            for branch in branches:
                tally = branch_tally(branch.id, year)
                total += fan_out(_secretaries(branch.id), "quota_tally", period,
                                 content.quota_tally_message(branch, tally, year, now))
        return total

    return _run("quota_quarterly", period, body)


def run_quota_settle(now):
    """Every 5 minutes: pay the talks and attendance of the exchanges that have ended since (each payment once).

    Not keyed in job_runs: each exchange is settled once under its row lock (settled_at), and each payment has its
    ledger key, so a second scheduler or a catch-up finds nothing left to pay.
    """
    return settle_held_exchanges()


def run_secretary_digest(now):
    """Monday 09:00: last week's reading and quiz completion, and who is behind, to each secretary and robot."""
    day = clock.local_day_of(now)
    week = clock.week_key(day - timedelta(days=7))

    def body():
        total = 0
        for branches in _branch_chunks():
            ids = [b.id for b in branches]
            reading = {row["branch_id"]: row for row in branch_reading_summary(ids, week)}
            quiz = {row["branch_id"]: row for row in branch_quiz_summary(ids, week)}
            absent = _absent_names(quiz.values(), ids)
            pace = dict(db.session.execute(
                select(Member.branch_id, func.count()).where(Member.id.in_(members_behind_pace(day.year, day)),
                                                              Member.branch_id.in_(ids))
                .group_by(Member.branch_id)).all())
            for branch in branches:
                lines = content.digest_lines(reading.get(branch.id), quiz.get(branch.id),
                                             absent.get(branch.id, []), pace.get(branch.id, 0))
                message = content.digest_message(branch, week, lines, now)
                total += fan_out(_secretaries(branch.id), "secretary_digest", week, message, commit=False)
                total += notify_branch_robot(branch, "branch_digest", week, {
                    "title": message["title"], "body": robot_markdown(message["title"], lines)})
            db.session.commit()
        return total

    return _run("secretary_digest", week, body)


def _run_per_quiz(job, due, announce):
    """Run announce(quiz) once per quiz that due() finds, keyed (job, "quiz<id>"); return how many it queued."""
    quizzes = _quizzes(due())
    enqueued = [_run(job, QUIZ_PERIOD + str(quiz.id), lambda quiz=quiz: announce(quiz)) for quiz in quizzes]
    return sum(n or 0 for n in enqueued)


def _not_done(job, quizzes):
    """The select `quizzes` without those `job` has finished for: one anti-join on job_runs' unique (job, period)."""
    done = select(JobRun.id).where(JobRun.job == job, JobRun.status == "done",
                                   JobRun.period == literal(QUIZ_PERIOD) + cast(Quiz.id, String))
    return quizzes.where(~done.exists())


def _quizzes(found):
    """Quizzes from a room's answer: a select of Quiz, or already a list."""
    return db.session.scalars(found).all() if isinstance(found, Select) else list(found)


def _absent_names(quiz_rows, branch_ids, per_branch=10):
    """{branch_id: up to 10 names} of members who did not submit their branch's quiz (one query per quiz)."""
    names = {}
    for quiz_id in {row["quiz_id"] for row in quiz_rows if row.get("not_submitted")}:
        quiz = db.session.get(Quiz, quiz_id)
        for branch_id, name in db.session.execute(
                select(Member.branch_id, Member.name).where(Member.id.in_(members_not_submitted(quiz)),
                                                            Member.branch_id.in_(branch_ids))
                .order_by(Member.branch_id, Member.name)):
            bucket = names.setdefault(branch_id, [])
            if len(bucket) < per_branch:
                bucket.append(name)
    return names


def _secretaries(branch_id):
    return select(Member.id).where(secretaries_clause(branch_id), Member.active.is_(True))


def _branch_chunks():
    """Every branch, BRANCH_CHUNK at a time (keyset on the id)."""
    last = 0
    while True:
        branches = db.session.scalars(select(Branch).where(Branch.id > last).order_by(Branch.id)
                                      .limit(BRANCH_CHUNK)).all()
        if not branches:
            return
        yield branches
        last = branches[-1].id


JOBS = {
    "daily_material": run_daily_material,
    "reading_day": run_reading_day,
    "quiz_open": run_quiz_open,
    "quiz_reminder_thu": run_quiz_reminder,
    "quiz_reminder_sun": run_quiz_reminder,
    "quiz_results": run_quiz_results,
    "quota_monthly": run_quota_monthly,
    "quota_quarterly": run_quota_quarterly,
    "quota_settle": run_quota_settle,
    "secretary_digest": run_secretary_digest,
}
