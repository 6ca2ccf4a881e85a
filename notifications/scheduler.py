"""The scheduler process: APScheduler cron jobs in Asia/Shanghai from config SCHEDULE, run only by the leader.

Two schedulers may run (a deploy overlap, a second host): a Redis lock with a TTL, renewed every TTL/3, picks
the one leader that runs jobs; job_runs' unique (job, period) is the second guard, so even two leaders (a
lock lost mid-run) queue nothing twice, and the outbox's idempotency keys are the third. On start, each job's
last due time is run once if it is within its catch-up window and its period has not run (downtime); runs
missed while the process was stalled are coalesced by APScheduler into one, so a job every 5 minutes never
fires a backlog.
"""
import logging
import threading
import time
import uuid
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core import clock
from core.cache import get_redis, key
from core.clock import TZ
from core.extensions import db
from core.metrics import SCHEDULER_LAST_SUCCESS
from members import authlog
from notifications.delivery import run_sender
from notifications.jobs import JOBS

log = logging.getLogger(__name__)

# How long after its time a missed job still makes sense (a quiz reminder at midnight does not). The frequent quiz
# jobs need only their latest fire time: one run does everything due since (they look at the quizzes, not at the
# runs missed), and a quiz announcement caught up at most 15 minutes late never reaches into the night.
CATCH_UP_HOURS = {
    "daily_material": 6, "reading_day": 24, "quiz_open": 0.25, "quiz_reminder_thu": 3, "quiz_reminder_sun": 6,
    "quiz_results": 1, "quota_monthly": 72, "quota_quarterly": 168, "quota_settle": 0.25, "secretary_digest": 24,
}

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaderLock:
    """A Redis lock held by one scheduler at a time; the holder renews it well before it expires."""

    def __init__(self, ttl_seconds=30, name="scheduler"):
        self.ttl_ms = int(ttl_seconds * 1000)
        self.key = key("leader", name)
        self.token = uuid.uuid4().hex

    def hold(self):
        """Take or renew the lock; True while this process is the leader."""
        try:
            return bool(get_redis().eval(_RENEW, 1, self.key, self.token, self.ttl_ms))
        except Exception:  # Redis unreachable: not knowing is not leading
            log.warning("scheduler leader lock unavailable", exc_info=True)
            return False

    def release(self):
        try:
            get_redis().eval(_RELEASE, 1, self.key, self.token)
        except Exception:
            pass


def triggers(schedule):
    """{job name: CronTrigger in Asia/Shanghai} from the SCHEDULE table."""
    return {name: CronTrigger(timezone=TZ, **spec) for name, spec in schedule.items()}


def last_fire_time(trigger, now, lookback):
    """The latest time the trigger fired at or before `now`, within `lookback`; None if none."""
    moment, last = now - lookback, None
    while True:
        nxt = trigger.get_next_fire_time(None, moment)
        if nxt is None or nxt > now:
            return last
        last, moment = nxt, nxt + timedelta(seconds=1)


class Scheduler:
    """The job table bound to an app and a leader lock; tick() is what APScheduler calls for a job."""

    def __init__(self, app, lock=None):
        self.app = app
        self.jobs = JOBS
        self.triggers = triggers(app.config["SCHEDULE"])
        self.lock = lock or LeaderLock(app.config.get("SCHEDULER_LEADER_TTL", 30))

    def catch_up_hours(self, name):
        return app_catch_up(self.app).get(name, 1)

    def tick(self, name):
        """Run job `name` for its latest due time (if that is recent enough to make sense) when this process
        leads; return what the job returned, None when it did not run."""
        with self.app.app_context():
            try:
                if not self.lock.hold():
                    log.info("job %s skipped: not the leader", name)
                    return None
                now = clock.now()
                due = last_fire_time(self.triggers[name], now, timedelta(hours=self.catch_up_hours(name)))
                if due is None:
                    log.info("job %s skipped: its last due time is too long ago", name)
                    return None
                result = self.jobs[name](due)
                SCHEDULER_LAST_SUCCESS.labels(name).set(time.time())  # what the stale-scheduler alert watches
                return result
            except Exception:
                log.exception("job %s failed", name)
                db.session.rollback()
                return None
            finally:
                db.session.remove()

    def catch_up(self, stop=None):
        """Run, once, each job whose last due time fell during downtime and still makes sense (until stopped);
        nothing when SCHEDULER_CATCH_UP is off (a scheduler that stands for one that ran all along)."""
        if not self.app.config["SCHEDULER_CATCH_UP"]:
            log.info("catch-up off (SCHEDULER_CATCH_UP=0): missed runs are not made up")
            return {}
        return {name: self.tick(name) for name in self.triggers if stop is None or not stop.is_set()}

    def build(self):
        """An APScheduler BackgroundScheduler with every job and the leader lock's renewal."""
        sched = BackgroundScheduler(timezone=TZ)
        for name, trigger in self.triggers.items():
            sched.add_job(self.tick, trigger, args=[name], id=name, name=name, replace_existing=True,
                          coalesce=True, max_instances=1,
                          misfire_grace_time=int(self.catch_up_hours(name) * 3600))
        ttl = self.lock.ttl_ms / 1000
        sched.add_job(self._renew, IntervalTrigger(seconds=max(1, ttl / 3)), id="leader-renew",
                      replace_existing=True)
        return sched

    def _renew(self):
        with self.app.app_context():
            self.lock.hold()


def app_catch_up(app):
    return {**CATCH_UP_HOURS, **app.config.get("SCHEDULE_CATCH_UP_HOURS", {})}


def run_forever(app, stop, with_sender=True):
    """The `flask scheduler` process: catch up, then run the cron jobs (and a sender thread) until `stop` is set;
    then let the jobs and the batch in hand finish, release the leader lock and say so."""
    runner = Scheduler(app)
    sender = None
    if with_sender:
        def send_loop():
            while not stop.is_set():
                with app.app_context():
                    try:
                        run_sender(stop=stop)
                    except Exception:  # a database hiccup must not end the thread; back off and go on
                        log.exception("sender loop failed; restarting in 5 s")
                        db.session.rollback()
                stop.wait(5)

        sender = threading.Thread(target=send_loop, name="sender")
        sender.start()
    relay = authlog.start_relay(app, stop)  # from the first second: the catch-up may take minutes
    log.info("scheduler starting; catching up missed jobs")
    runner.catch_up(stop)
    sched = runner.build()
    sched.start()
    while not stop.wait(1):
        pass
    sched.shutdown(wait=True)  # the jobs in hand run to their end; none starts after this
    relay.join()
    if sender is not None:
        sender.join()  # its batch in hand, bounded by the WeChat timeout; systemd's stop timeout is the backstop
    with app.app_context():
        runner.lock.release()
    log.info("scheduler stopped: jobs and the batch in hand finished, leader lock released")
