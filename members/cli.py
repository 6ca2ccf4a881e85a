"""`flask org ...`: organisation commands for operators."""
import click
from flask.cli import AppGroup

from core.errors import AppError
from members import services

org = AppGroup("org", help="组织管理命令 (organisation commands)")


@org.command("bootstrap")
@click.option("--committee", "committee_name", required=True, help="党委名称")
@click.option("--admin-name", required=True, help="管理员姓名")
@click.option("--admin-phone", required=True, help="管理员手机号（登录时用于绑定微信）")
def bootstrap(committee_name, admin_name, admin_phone):
    """Create a committee and its first admin."""
    try:
        committee, admin = services.bootstrap(committee_name, admin_name, admin_phone)
    except AppError as exc:
        raise click.ClickException(exc.message)
    click.echo(f"已创建党委“{committee.name}”(id={committee.id}) 及管理员 {admin.name}（{admin.phone}）。")
    click.echo("管理员在小程序中用该手机号授权登录即可绑定微信。")


def init_app(app):
    app.cli.add_command(org)
