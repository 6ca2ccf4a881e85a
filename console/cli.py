"""`flask console set-password`: open or reset a secretary's or admin's console account."""
import click
from flask.cli import AppGroup

from console import services
from core.errors import AppError

console_cli = AppGroup("console", help="书记工作台账号")


@console_cli.command("set-password")
@click.option("--phone", required=True, help="名册中的手机号")
@click.option("--username", required=True, help="工作台登录用户名")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="缺省时交互输入")
def set_password(phone, username, password):
    """Create or update the console account of the member with this phone."""
    try:
        account = services.set_password(None, phone, username, password)
    except AppError as exc:
        raise click.ClickException(exc.message)
    click.echo(f"工作台账号 {account.username} 已设置。")


def init_app(app):
    app.cli.add_command(console_cli)
