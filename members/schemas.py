"""What goes in and out of the members room."""
from marshmallow import Schema, fields, validate

from core.schemas import PageArgs, StrictSchema, page_schema
from members.models import ROLE_LABELS, ROLES


class RefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class MemberSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = fields.String()
    role = fields.String(metadata={"enum": list(ROLES)})
    role_label = fields.Function(lambda m: ROLE_LABELS[m.role])
    active = fields.Boolean()
    joined_on = fields.Date(allow_none=True)
    committee = fields.Nested(RefSchema)
    branch = fields.Nested(RefSchema, allow_none=True)
    group = fields.Nested(RefSchema, allow_none=True)
    bound = fields.Function(lambda m: m.openid is not None, metadata={"description": "是否已绑定微信"})


MemberPageSchema = page_schema(MemberSchema, "MemberPage")


class WeChatLoginSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=128),
                         metadata={"description": "wx.login 得到的 code"})
    phone_code = fields.String(validate=validate.Length(min=1, max=128),
                               metadata={"description": "getPhoneNumber 按钮得到的 code，首次绑定时需要"})


class LoginResultSchema(Schema):
    token = fields.String()
    expires_at = fields.DateTime()
    member = fields.Nested(MemberSchema)


class MemberListArgs(PageArgs):
    q = fields.String(validate=validate.Length(max=50), metadata={"description": "按姓名搜索"})
    active = fields.Boolean()


class MemberUpdateSchema(StrictSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    name = fields.String(validate=validate.Length(min=1, max=50))
    group_id = fields.Integer(allow_none=True, metadata={"description": "本支部的党小组 id，null 为不属于任何小组"})
    joined_on = fields.Date(allow_none=True, metadata={"description": "入党日期"})


class RosterResultSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class RosterUploadSchema(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class BranchSummarySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    committee_id = fields.Integer()
    committee_name = fields.String()
    member_count = fields.Integer()


class OkSchema(Schema):
    ok = fields.Boolean()


class AuditArgs(PageArgs):
    action = fields.String(validate=validate.Length(min=1, max=64),
        metadata={"description": "动作，例如 roster.import"})
    actor_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1), metadata={"description": "操作人 ID"})


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String(allow_none=True)
    committee_id = fields.Integer(allow_none=True)
    action = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    details = fields.Dict()


AuditPageSchema = page_schema(AuditEntrySchema, "AuditPage")
