"""What goes in and out of the learning room; members and managers see different field sets."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.schemas import PageArgs, StrictSchema, page_schema
from learning.models import KIND_LABELS, KINDS
from learning.points import entry_label, entry_page

TAG = fields.String(validate=validate.Length(min=1, max=20))


class AudienceSchema(StrictSchema):
    committee_id = fields.Integer(metadata={"description": "整个党委（含下级）"})
    branch_ids = fields.List(fields.Integer(), validate=validate.Length(min=1, max=5000),
                             metadata={"description": "指定的支部"})

    @validates_schema
    def _one_of(self, data, **_):
        if ("committee_id" in data) == ("branch_ids" in data):
            raise ValidationError("committee_id 与 branch_ids 须且只须提供一个", "_schema")


class MaterialBaseSchema(StrictSchema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    source = fields.String(validate=validate.Length(max=100), metadata={"description": "来源，如 人民网、求是网"})
    url = fields.URL(schemes={"http", "https"}, allow_none=True, validate=validate.Length(max=500))
    summary = fields.String(validate=validate.Length(max=1000))
    body = fields.String(validate=validate.Length(max=200000))
    body_format = fields.String(load_default="markdown", validate=validate.OneOf(["markdown", "html"]))
    kind = fields.String(validate=validate.OneOf(KINDS))
    estimated_minutes = fields.Integer(validate=validate.Range(min=1, max=600))
    tags = fields.List(TAG, validate=validate.Length(max=10))
    day = fields.Date(metadata={"description": "学习日（北京时间）"})


class MaterialFieldsSchema(MaterialBaseSchema):
    audience = fields.Nested(AudienceSchema)


class MaterialCreateSchema(MaterialFieldsSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    day = fields.Date(required=True, metadata={"description": "学习日（北京时间）"})
    publish = fields.Boolean(load_default=False,
        metadata={"description": "true 立即发布（或定时到该日），否则存为草稿"})


class MaterialUpdateSchema(MaterialFieldsSchema):
    body_format = fields.String(validate=validate.OneOf(["markdown", "html"]))


class WithdrawSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReadingStateSchema(Schema):
    opened_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    seconds = fields.Integer()
    required_seconds = fields.Integer()
    completed = fields.Boolean()
    completed_at = fields.DateTime(allow_none=True)


class MaterialBriefSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    source = fields.String()
    url = fields.String(allow_none=True)
    summary = fields.String()
    kind = fields.String()
    kind_label = fields.Function(lambda m: KIND_LABELS[m.kind])
    estimated_minutes = fields.Integer()
    tags = fields.List(fields.String())
    day = fields.Date()


class MaterialItemSchema(MaterialBriefSchema):
    state = fields.Nested(ReadingStateSchema, attribute="_state")


class MaterialDetailSchema(MaterialItemSchema):
    body = fields.String(metadata={"description": "已净化的 HTML"})


class MaterialManageSchema(MaterialDetailSchema):
    status = fields.String()
    audience = fields.String()
    committee_id = fields.Integer()
    branch_id = fields.Integer(allow_none=True)
    branch_ids = fields.List(fields.Integer(), attribute="_branch_ids")
    author_id = fields.Integer()
    published_at = fields.DateTime(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawn_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ReadingProgressSchema(Schema):
    total = fields.Integer()
    completed = fields.Integer()


class TodaySchema(Schema):
    day = fields.Date()
    items = fields.List(fields.Nested(MaterialItemSchema))
    progress = fields.Nested(ReadingProgressSchema)
    streak = fields.Integer()


class ArchiveArgs(PageArgs):
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    q = fields.String(validate=validate.Length(min=1, max=50), metadata={"description": "按标题或标签搜索"})
    tag = TAG


class ManageListArgs(ArchiveArgs):
    status = fields.String(validate=validate.OneOf(["draft", "published", "withdrawn"]))


MaterialPageSchema = page_schema(MaterialItemSchema, "MaterialPage")
MaterialManagePageSchema = page_schema(MaterialManageSchema, "MaterialManagePage")


class FinishSchema(StrictSchema):
    client_seconds = fields.Integer(validate=validate.Range(min=0, max=86400),
                                    metadata={"description": "客户端自测的停留秒数，只用于下调"})


class FinishResultSchema(ReadingStateSchema):
    points_awarded = fields.Integer()


class ReadingHistoryArgs(StrictSchema):
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")


class ReadingDaySchema(Schema):
    day = fields.Date()
    total = fields.Integer()
    completed = fields.Integer()
    completed_on_day = fields.Integer()


class MyReadingSchema(Schema):
    today = fields.Nested(ReadingProgressSchema)
    streak = fields.Integer()
    days = fields.List(fields.Nested(ReadingDaySchema))


class RulePointsSchema(Schema):
    rule = fields.String()
    label = fields.String()
    points = fields.Integer()
    daily_cap = fields.Integer(allow_none=True)
    earned_today = fields.Integer()
    remaining_today = fields.Integer(allow_none=True)


class MyPointsSchema(Schema):
    total = fields.Integer()
    week = fields.Integer()
    year = fields.Integer()
    today = fields.Integer()
    week_key = fields.String()
    rules = fields.List(fields.Nested(RulePointsSchema))


class PointEntrySchema(Schema):
    id = fields.Integer()
    rule = fields.String()
    points = fields.Integer()
    occurred_at = fields.DateTime()
    day = fields.Date()
    label = fields.Function(lambda e: entry_label(e.rule, e.points, e.meta),
                            metadata={"description": "积分来源，如 完成每日学习《…》"})
    page = fields.Function(lambda e: entry_page(e.meta), allow_none=True,
                           metadata={"description": "小程序页面：学习内容、测验成绩或 1+4+1"})


PointEntryPageSchema = page_schema(PointEntrySchema, "PointEntryPage")


class PlanImportArgs(StrictSchema):
    committee_id = fields.Integer()
    branch_id = fields.Integer()
    publish = fields.Boolean(load_default=True)


class PlanUploadSchema(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class PlanItemSchema(MaterialBaseSchema):
    """One item of a JSON plan; the plan's audience is set once, for the whole plan."""

    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    day = fields.Date(required=True)


class PlanSchema(StrictSchema):
    items = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=20000))
    audience = fields.Nested(AudienceSchema)
    publish = fields.Boolean(load_default=True)


class PlanImportResultSchema(Schema):
    created = fields.Integer()
    ids = fields.List(fields.Integer())


class ReadingPeriodArgs(StrictSchema):
    day = fields.Date(metadata={"description": "某一天（北京时间）"})
    week = fields.String(validate=validate.Regexp(r"^\d{4}-W\d{2}$"), metadata={"description": "ISO 周，如 2026-W48"})

    @validates_schema
    def _not_both(self, data, **_):
        if "day" in data and "week" in data:
            raise ValidationError("day 与 week 只能选一个", "_schema")


class ReadingExportArgs(ReadingPeriodArgs):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["csv", "xlsx"]),
                           metadata={"description": "csv 或 xlsx"})


class CommitteeReadingArgs(ReadingPeriodArgs, PageArgs):
    pass


class MaterialCompletionSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    day = fields.Date()
    audience_members = fields.Integer()
    completed = fields.Integer()


class MemberCompletionSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    completed = fields.Integer()
    total = fields.Integer()
    seconds = fields.Integer()
    material_ids = fields.List(fields.Integer(), metadata={"description": "已学完的学习内容"})


class BranchReadingCompletionSchema(Schema):
    branch_id = fields.Integer(allow_none=True, metadata={"description": "合计行为空"})
    branch_name = fields.String()
    members = fields.Integer()
    materials = fields.Integer()
    expected = fields.Integer()
    completed = fields.Integer()
    rate = fields.Float(allow_none=True, metadata={"description": "无应学条目时为空"})
    studied_members = fields.Integer()
    idle_week_members = fields.Integer(metadata={"description": "本周一次也没学的党员数"})


class IdleReaderSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class BranchReadingSchema(Schema):
    start = fields.Date()
    end = fields.Date()
    week_key = fields.String()
    summary = fields.Nested(BranchReadingCompletionSchema)
    materials = fields.List(fields.Nested(MaterialCompletionSchema))
    members = fields.List(fields.Nested(MemberCompletionSchema))
    idle_this_week = fields.List(fields.Nested(IdleReaderSchema))


class CommitteeReadingSchema(Schema):
    start = fields.Date()
    end = fields.Date()
    week_key = fields.String()
    total = fields.Nested(BranchReadingCompletionSchema)
    items = fields.List(fields.Nested(BranchReadingCompletionSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    branches = fields.Integer()


class LeaderboardArgs(StrictSchema):
    period = fields.String(load_default="week", validate=validate.OneOf(["week", "month", "year"]))
    day = fields.Date()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class LeaderboardEntrySchema(Schema):
    rank = fields.Integer()
    member_id = fields.Integer()
    name = fields.String()
    branch = fields.String(allow_none=True)
    points = fields.Integer()


class LeaderboardMeSchema(Schema):
    rank = fields.Integer(allow_none=True)
    points = fields.Integer()


class LeaderboardSchema(Schema):
    scope = fields.String()
    scope_id = fields.Integer()
    period = fields.String()
    period_key = fields.String()
    size = fields.Integer()
    entries = fields.List(fields.Nested(LeaderboardEntrySchema))
    me = fields.Nested(LeaderboardMeSchema, allow_none=True)
