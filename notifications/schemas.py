"""What goes in and out of the notifications room."""
from marshmallow import Schema, fields, validate

from core.schemas import PageArgs, StrictSchema, page_schema
from notifications.models import STATUSES

HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="时间格式应为 HH:MM")


class InboxItemSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    page = fields.Function(lambda n: (n.payload or {}).get("page"), metadata={"description": "小程序跳转页面"})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    read = fields.Function(lambda n: n.read_at is not None)


InboxPageSchema = page_schema(InboxItemSchema, "InboxPage")


class InboxArgs(PageArgs):
    unread = fields.Boolean(load_default=False, metadata={"description": "只看未读"})


class UnreadSchema(Schema):
    unread = fields.Integer()


class UpdatedSchema(Schema):
    updated = fields.Integer()


class SubscriptionResultSchema(StrictSchema):
    template_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    result = fields.String(required=True, validate=validate.OneOf(["accept", "reject", "ban", "filter"]))


class SubscriptionReportSchema(StrictSchema):
    request_id = fields.String(required=True, validate=validate.Length(min=1, max=64),
                               metadata={"description": "每次 wx.requestSubscribeMessage 生成一个，重试时不变"})
    results = fields.List(fields.Nested(SubscriptionResultSchema), required=True,
                          validate=validate.Length(min=1, max=10))


class ConsentSchema(Schema):
    template_id = fields.String()
    purpose = fields.String()
    remaining = fields.Integer(metadata={"description": "剩余可发送条数（每次同意一条）"})
    banned = fields.Boolean(metadata={"description": "用户选择了“总是拒绝”"})


class PreferencesSchema(Schema):
    reminders_enabled = fields.Boolean()
    quiet_hours_enabled = fields.Boolean()
    quiet_start = fields.String()
    quiet_end = fields.String()


class PreferencesUpdateSchema(StrictSchema):
    reminders_enabled = fields.Boolean(metadata={"description": "关闭后非必要提醒只进站内信，不推送"})
    quiet_hours_enabled = fields.Boolean()
    quiet_start = fields.String(validate=HHMM)
    quiet_end = fields.String(validate=HHMM)


class RobotUpdateSchema(StrictSchema):
    webhook_key = fields.String(required=True, validate=[validate.Length(min=8, max=128),
                                                         validate.Regexp(r"^[A-Za-z0-9\-_]+$")],
                                load_only=True,
                                metadata={"description": "企业微信群机器人 webhook 的 key（保密，不会返回）"})
    enabled = fields.Boolean(load_default=True)


class RobotStatusSchema(Schema):
    branch_id = fields.Integer()
    configured = fields.Boolean()
    enabled = fields.Boolean()
    updated_at = fields.DateTime(allow_none=True)


class ReminderRequestSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(["reading", "quiz", "quota"]))


class ReminderResultSchema(Schema):
    kind = fields.String()
    behind = fields.Integer(metadata={"description": "落后的人数"})
    reminded = fields.Integer(metadata={"description": "本次新提醒的人数"})
    already_reminded = fields.Integer(metadata={"description": "今天已提醒过（不重复提醒）的人数"})


class ReminderKindArgs(StrictSchema):
    kind = fields.String(load_default="reading", validate=validate.OneOf(["reading", "quiz", "quota"]),
                         metadata={"description": "reading（默认）、quiz 或 quota"})


class ReminderMemberSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    reminded_today = fields.Boolean(metadata={"description": "今天已提醒过，本次不会再提醒"})


class ReminderAudienceSchema(Schema):
    kind = fields.String()
    behind = fields.Integer(metadata={"description": "落后的人数（即下方名单）"})
    to_remind = fields.Integer(metadata={"description": "现在提醒将新提醒的人数"})
    already_reminded = fields.Integer(metadata={"description": "今天已提醒过的人数"})
    members = fields.List(fields.Nested(ReminderMemberSchema))


class OutboxArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(STATUSES), metadata={"description": "按状态筛选；不填则列出全部"})


class OutboxItemSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    channel = fields.String()
    member_id = fields.Integer(allow_none=True)
    branch_id = fields.Integer(allow_none=True)
    title = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


OutboxPageSchema = page_schema(OutboxItemSchema, "OutboxPage")
