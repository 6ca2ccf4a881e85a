"""Commands that span the rooms: `flask seed-demo`."""
import importlib

import click
from flask import current_app
from sqlalchemy import select

from core.extensions import db
from members.demo import DEMO_LOGINS
from members.models import Committee


@click.command("seed-demo")
def seed_demo():
    """Load the deterministic demo organisation and each room's demo data (once)."""
    if db.session.scalar(select(Committee).where(Committee.name == "示范集团党委")) is not None:
        click.echo("演示数据已存在，跳过。")
    else:
        ctx = {}
        for module in _room_demos():
            module.seed(ctx)
        db.session.commit()
        click.echo("演示数据已载入。")
    base = current_app.config.get("PUBLIC_URL", "http://127.0.0.1:5000")
    click.echo("\n演示账号（小程序登录 code 由本地假微信接口签发，dev:<openid> 形式）：")
    for label, openid, phone in DEMO_LOGINS:
        click.echo(f"  {label}  手机 {phone}\n    curl -s -X POST {base}/api/v1/auth/wechat "
                   f"-H 'Content-Type: application/json' -d '{{\"code\": \"dev:{openid}\"}}'")
    # A room's demo module may add its own login lines (the console's desk accounts) with demo_lines(base).
    for module in _room_demos():
        for line in getattr(module, "demo_lines", lambda _base: [])(base):
            click.echo(line)


def _room_demos():
    """Each room's demo module, in the rooms' order (a room without one is passed over)."""
    # Imported here: core.app imports this module at its top for init_app, so a top import would be a cycle.
    from core.app import DOMAINS

    for name in DOMAINS:
        try:
            yield importlib.import_module(f"{name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{name}.demo":
                raise


def init_app(app):
    app.cli.add_command(seed_demo)
