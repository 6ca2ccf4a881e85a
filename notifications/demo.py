"""Demo data for notifications: a group robot for the first branch, a few preferences, an inbox to look at."""
import random
from datetime import timedelta

from core import clock
from core.extensions import db
from notifications import content, services
from notifications.models import SENT, BranchRobot, Notification, NotificationPreference, SubscriptionConsent

DEMO_WEBHOOK_KEY = "demo-webhook-key"  # the fake WeChat API knows this robot


def seed(ctx):
    """Give the demo a robot, preferences and a small inbox history (deterministic; the CLI commits)."""
    rng = random.Random(20261121)
    branches, members = ctx["branches"], ctx["members"]
    db.session.add(BranchRobot(branch_id=branches[0].id, webhook_key=DEMO_WEBHOOK_KEY, enabled=True,
                               updated_by=ctx["secretaries"][0].id))
    for member in rng.sample(members, 6):
        db.session.add(NotificationPreference(member_id=member.id, reminders_enabled=rng.random() < 0.5,
                                              quiet_enabled=True, quiet_start="22:30", quiet_end="07:30"))
    demo_member = next(m for m in members if m.openid == "demo-member")
    # The demo member has allowed two quiz messages, as if they tapped 允许 twice in the mini-program.
    db.session.add(SubscriptionConsent(member_id=demo_member.id, template_id="tmpl-quiz-open", remaining=2))
    db.session.flush()
    today = clock.today()
    history = []
    for back in range(5, 0, -1):
        day = today - timedelta(days=back)
        history.append(("study_material", day.isoformat(), content.study_material_message(day)))
    history.append(("quota_reminder", f"{today.year}-{today.month:02d}",
                    content.quota_reminder_message(today.year, clock.now())))
    for kind, period, message in history:
        services.notify_member(demo_member, kind, period, message)
    db.session.flush()
    # Old news is already delivered and mostly read: only what is new should look new.

    rows = db.session.scalars(db.select(Notification).where(Notification.member_id == demo_member.id)
                              .order_by(Notification.id)).all()
    for index, row in enumerate(rows[:-2]):
        row.status, row.sent_at = SENT, clock.now() - timedelta(days=5 - index)
        row.created_at = row.next_attempt_at = row.sent_at
        row.read_at = row.sent_at + timedelta(minutes=rng.randint(5, 240))
    ctx["robot_branch"] = branches[0]
