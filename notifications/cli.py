"""`flask notifications send` (a sender) and `flask scheduler` (the scheduler, with a sender thread)."""
import logging

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

notifications = AppGroup("notifications", help="通知发送命令 (notification commands)")


@notifications.command("send")
@click.option("--once", is_flag=True, help="发送到当前没有到期通知为止，然后退出")
def send(once):
    """Deliver due notifications (several senders may run at once on PostgreSQL)."""
    from notifications.delivery import run_sender

    logging.basicConfig(level=current_app.config.get("LOG_LEVEL", "INFO"))
    totals = run_sender(once=once)
    click.echo(f"发送结果: {totals}")


@notifications.command("run-job")
@click.argument("job")
def run_job(job):
    """Run one scheduled job now (for operators; once per period, the quiz open and results jobs once per quiz)."""
    from core import clock
    from notifications.jobs import JOBS

    if job not in JOBS:
        raise click.ClickException(f"未知任务 {job}，可选：{', '.join(JOBS)}")
    click.echo(f"{job}: {JOBS[job](clock.now())}")


@click.command("scheduler")
@click.option("--no-sender", is_flag=True, help="不在调度进程内运行发送线程")
@with_appcontext
def scheduler(no_sender):
    """Run the scheduler (APScheduler, Asia/Shanghai) and, unless --no-sender, a sender thread beside it."""
    from notifications.scheduler import run_forever

    logging.basicConfig(level=current_app.config.get("LOG_LEVEL", "INFO"))
    run_forever(current_app._get_current_object(), with_sender=not no_sender)


def init_app(app):
    app.cli.add_command(notifications)
    app.cli.add_command(scheduler)
