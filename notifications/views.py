"""HTTP endpoints of notifications: thin — parse, call one service, respond."""
from flask_smorest import Blueprint

from core.schemas import paginate
from members import scope
from members.auth import current_member, login_required
from notifications import services
from notifications.schemas import (
    ConsentSchema,
    InboxArgs,
    InboxItemSchema,
    InboxPageSchema,
    OutboxArgs,
    OutboxItemSchema,
    OutboxPageSchema,
    PreferencesSchema,
    PreferencesUpdateSchema,
    ReminderAudienceSchema,
    ReminderKindArgs,
    ReminderRequestSchema,
    ReminderResultSchema,
    RobotStatusSchema,
    RobotUpdateSchema,
    SubscriptionReportSchema,
    UnreadSchema,
    UpdatedSchema,
)

bp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="通知：站内信、订阅消息、群机器人、提醒")


@bp.get("/me/inbox")
@login_required()
@bp.arguments(InboxArgs, location="query")
@bp.response(200, InboxPageSchema)
def inbox(args):
    """List my notifications, newest first."""
    stmt = services.inbox_query(current_member(), args["unread"])
    return paginate(stmt, args["page"], args["per_page"])


@bp.get("/me/inbox/unread-count")
@login_required()
@bp.response(200, UnreadSchema)
def inbox_unread():
    """Count my unread notifications."""
    return {"unread": services.unread_count(current_member())}


@bp.post("/me/inbox/<int:notification_id>/read")
@login_required()
@bp.response(200, InboxItemSchema)
def inbox_read(notification_id):
    """Mark one of my notifications read."""
    return services.mark_read(current_member(), notification_id)


@bp.post("/me/inbox/read-all")
@login_required()
@bp.response(200, UpdatedSchema)
def inbox_read_all():
    """Mark all my notifications read."""
    return {"updated": services.mark_all_read(current_member())}


@bp.get("/me/subscriptions")
@login_required()
@bp.response(200, ConsentSchema(many=True))
def subscriptions():
    """Show how many subscribe messages I have allowed, per template."""
    return services.list_subscriptions(current_member())


@bp.post("/me/subscriptions")
@login_required()
@bp.arguments(SubscriptionReportSchema)
@bp.response(200, ConsentSchema(many=True))
def report_subscriptions(body):
    """Report the results of one wx.requestSubscribeMessage call (accept / reject / ban / filter)."""
    return services.record_subscriptions(current_member(), body["request_id"], body["results"])


@bp.get("/me/notification-preferences")
@login_required()
@bp.response(200, PreferencesSchema)
def get_preferences():
    """Show my notification preferences."""
    return services.preferences(current_member())


@bp.put("/me/notification-preferences")
@login_required()
@bp.arguments(PreferencesUpdateSchema)
@bp.response(200, PreferencesSchema)
def put_preferences(body):
    """Change my notification preferences (any subset)."""
    return services.update_preferences(current_member(), body)


@bp.get("/branches/<int:branch_id>/wecom-robot")
@login_required("secretary", "admin")
@bp.response(200, RobotStatusSchema)
def get_robot(branch_id):
    """Say whether the branch has a WeCom group robot (the key itself is never returned)."""
    return services.robot_status(scope.branch_for(current_member(), branch_id))


@bp.put("/branches/<int:branch_id>/wecom-robot")
@login_required("secretary", "admin")
@bp.arguments(RobotUpdateSchema)
@bp.response(200, RobotStatusSchema)
def put_robot(body, branch_id):
    """Store the branch's WeCom group robot key."""
    branch = scope.branch_for(current_member(), branch_id)
    return services.set_robot(current_member(), branch, body["webhook_key"], body["enabled"])


@bp.delete("/branches/<int:branch_id>/wecom-robot")
@login_required("secretary", "admin")
@bp.response(200, RobotStatusSchema)
def delete_robot(branch_id):
    """Remove the branch's WeCom group robot."""
    return services.remove_robot(current_member(), scope.branch_for(current_member(), branch_id))


@bp.get("/branches/<int:branch_id>/reminders")
@login_required("secretary", "admin")
@bp.arguments(ReminderKindArgs, location="query")
@bp.response(200, ReminderAudienceSchema)
def branch_reminder_audience(args, branch_id):
    """Who 一键提醒 of a kind would reach now (exactly the group the POST reminds), marked if reminded today."""
    branch = scope.branch_for(current_member(), branch_id)
    return services.reminder_audience(branch, args["kind"])


@bp.post("/branches/<int:branch_id>/reminders")
@login_required("secretary", "admin")
@bp.arguments(ReminderRequestSchema)
@bp.response(200, ReminderResultSchema)
def branch_reminders(body, branch_id):
    """一键提醒: remind the branch's members who are behind (at most once per member, kind and day)."""
    branch = scope.branch_for(current_member(), branch_id)
    return services.remind_branch(current_member(), branch, body["kind"])


@bp.get("/admin/outbox")
@login_required("admin")
@bp.arguments(OutboxArgs, location="query")
@bp.response(200, OutboxPageSchema)
def outbox(args):
    """List outbox rows in my committee's subtree, newest first; `status` filters (none: every row)."""
    return paginate(services.outbox_query(current_member(), args.get("status")), args["page"], args["per_page"])


@bp.post("/admin/outbox/<int:notification_id>/retry")
@login_required("admin")
@bp.response(200, OutboxItemSchema)
def outbox_retry(notification_id):
    """Queue a dead notification again."""
    item = services.outbox_item_for(current_member(), notification_id)
    return services.retry_dead(current_member(), item)
