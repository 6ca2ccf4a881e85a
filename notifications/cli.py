"""`flask notifications send` (a sender), `flask scheduler` (the scheduler, with a sender thread and the auth relay)
`flask auth-relay` (the relay alone) and `flask reading-day` (every branch's list today, into the cache).

Both stop gracefully on SIGTERM (systemd's stop) or SIGINT: the batch and the jobs in hand run to their end, nothing
new is started, the leader lock is released, and the process says it stopped.
"""
import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from core import clock
from members import authlog
from notifications.delivery import run_sender
from notifications.jobs import JOBS, prepare_reading_day
from notifications.scheduler import run_forever

log = logging.getLogger(__name__)

notifications = AppGroup("notifications", help="通知发送命令 (notification commands)")


@notifications.command("send")
@click.option("--once", is_flag=True, help="发送到当前没有到期通知为止，然后退出")
def send(once):
    """Deliver due notifications (several senders may run at once on PostgreSQL)."""
    totals = run_sender(once=once, stop=stop_on_signals("sender"))
    log.info("sender stopped: the batch in hand is finished; totals %s", totals)
    click.echo(f"发送结果: {totals}")


@notifications.command("run-job")
@click.argument("job")
def run_job(job):
    """Run one scheduled job now (for operators; once per period, the quiz open and results jobs once per quiz)."""
    if job not in JOBS:
        raise click.ClickException(f"未知任务 {job}，可选：{', '.join(JOBS)}")
    click.echo(f"{job}: {JOBS[job](clock.now())}")


@click.command("scheduler")
@click.option("--no-sender", is_flag=True, help="不在调度进程内运行发送线程")
@with_appcontext
def scheduler(no_sender):
    """Run the scheduler (APScheduler, Asia/Shanghai) and, unless --no-sender, a sender thread beside it."""
    run_forever(current_app._get_current_object(), stop_on_signals("scheduler"), with_sender=not no_sender)


@click.command("auth-relay")
@click.option("--once", is_flag=True, help="只做一遍（Redis 恢复后重建镜像），然后退出")
@with_appcontext
def auth_relay(once):
    """Run the auth relay alone (members.authlog), as `flask scheduler` runs it in a thread: for the bench's member
    scenarios, which run without the scheduler, and for an operator after a Redis restore (--once)."""
    if once:
        click.echo(f"镜像成员数: {authlog.relay()}")
        return
    authlog.run_relay(current_app._get_current_object(), stop_on_signals("auth-relay"))


@click.command("reading-day")
@with_appcontext
def reading_day():
    """Build every branch's list today into the cache now (learning.services.branch_today), as the scheduler's
    reading_day job does after midnight: for an operator after a Redis restore, and for the bench."""
    click.echo(f"已准备支部数: {prepare_reading_day(clock.today())}")


def stop_on_signals(process):
    """An Event set by SIGTERM or SIGINT; call before any thread starts.

    The signals are blocked in every thread (threads inherit the mask) and taken by one watcher thread with sigwait,
    so no handler ever interrupts a statement or a WeChat call half-way: the loops look at the event between
    batches. A second signal while stopping changes nothing; systemd's stop timeout is the backstop.
    """
    stop = threading.Event()
    signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)

    def watch():
        received = signal.sigwait(signals)
        log.info("%s received %s: finishing the work in hand, then stopping", process, signal.Signals(received).name)
        stop.set()

    threading.Thread(target=watch, name="signals", daemon=True).start()
    return stop


def init_app(app):
    app.cli.add_command(notifications)
    app.cli.add_command(scheduler)
    app.cli.add_command(auth_relay)
    app.cli.add_command(reading_day)
