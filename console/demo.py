"""Demo console accounts for the demo admin and the demo secretary (研发中心党支部)."""
from argon2 import PasswordHasher

from console.models import ConsoleAccount
from core import clock
from core.extensions import db

# (label, username, password, phone): documented in the README and printed by seed-demo.
DEMO_ACCOUNTS = [
    ("党委管理员 周建国", "admin", "Demo-admin-2026", "13800000000"),
    ("支部书记（研发中心党支部）", "secretary", "Demo-secretary-2026", "13800010000"),
]


def seed(ctx):
    """Create the demo accounts (hashes made here; the CLI commits)."""
    hasher = PasswordHasher()
    by_phone = {m.phone: m for m in [ctx["admin"], *ctx["secretaries"]]}
    for _, username, password, phone in DEMO_ACCOUNTS:
        member = by_phone[phone]
        db.session.add(ConsoleAccount(member_id=member.id, username=username, password_hash=hasher.hash(password),
                                      must_change_password=False, created_at=clock.now(), updated_at=clock.now()))
    db.session.flush()


def demo_lines(base):
    """Lines seed-demo prints about the console."""
    lines = [f"\n书记工作台 {base}/console/ （用户名 / 密码）："]
    lines += [f"  {label}  {username} / {password}" for label, username, password, _ in DEMO_ACCOUNTS]
    return lines
