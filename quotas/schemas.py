"""What goes in and out of the quotas room. A reflection is only in the schemas its owner and reviewers get."""
from marshmallow import Schema, fields, validate

from core import clock
from core.schemas import PageArgs, StrictSchema, page_schema
from members.schemas import OkSchema, RefSchema  # noqa: F401  (shared names keep the OpenAPI document tidy)
from quotas.models import EXCHANGE_STATUSES, STATUS_LABELS, STATUSES

YEAR = validate.Range(min=2000, max=2100)


class YearArgs(StrictSchema):
    year = fields.Integer(validate=YEAR, metadata={"description": "年份（默认今年，按北京时间）"})


class PolicySchema(Schema):
    year = fields.Integer()
    talks = fields.Integer(metadata={"description": "应作交流发言次数"})
    attends = fields.Integer(metadata={"description": "应参加交流次数"})
    books = fields.Integer(metadata={"description": "应阅读专业书籍本数"})
    source = fields.String(metadata={"description": "branch 支部设置 / committee 党委设置 / default 默认"})


class PolicyInSchema(StrictSchema):
    year = fields.Integer(required=True, validate=YEAR)
    talks = fields.Integer(required=True, validate=validate.Range(min=0, max=50))
    attends = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    books = fields.Integer(required=True, validate=validate.Range(min=0, max=50))


class SpeakerSchema(Schema):
    member_id = fields.Integer()
    name = fields.Function(lambda s: s.member.name)


def _when(**kw):
    # A time without an offset is read as Beijing time, the way secretaries write it.
    return fields.AwareDateTime(default_timezone=clock.TZ, **kw)


class ExchangeInSchema(StrictSchema):
    branch_id = fields.Integer(metadata={"description": "主办支部（默认本人所在支部）"})
    title = fields.String(required=True, validate=validate.Length(min=2, max=200))
    starts_at = _when(required=True)
    ends_at = _when(required=True)
    place = fields.String(validate=validate.Length(max=200), allow_none=True)
    online_url = fields.URL(schemes={"http", "https"}, validate=validate.Length(max=500), allow_none=True)
    summary = fields.String(load_default="", validate=validate.Length(max=5000))
    speaker_ids = fields.List(fields.Integer(), load_default=list, metadata={"description": "主讲党员 id"})
    guest_speakers = fields.String(validate=validate.Length(max=200), allow_none=True,
                                   metadata={"description": "非党员或外请主讲人姓名"})
    shared = fields.Boolean(load_default=False, metadata={"description": "是否向本党委各支部开放"})


class ExchangeUpdateSchema(StrictSchema):
    title = fields.String(validate=validate.Length(min=2, max=200))
    starts_at = _when()
    ends_at = _when()
    place = fields.String(validate=validate.Length(max=200), allow_none=True)
    online_url = fields.URL(schemes={"http", "https"}, validate=validate.Length(max=500), allow_none=True)
    summary = fields.String(validate=validate.Length(max=5000))
    speaker_ids = fields.List(fields.Integer())
    guest_speakers = fields.String(validate=validate.Length(max=200), allow_none=True)
    shared = fields.Boolean()


class ExchangeSchema(Schema):
    id = fields.Integer()
    branch = fields.Nested(RefSchema)
    year = fields.Integer()
    title = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    place = fields.String(allow_none=True)
    online_url = fields.String(allow_none=True)
    summary = fields.String()
    speakers = fields.List(fields.Nested(SpeakerSchema))
    guest_speakers = fields.String(allow_none=True)
    shared = fields.Boolean()
    status = fields.String(metadata={"enum": list(EXCHANGE_STATUSES)})
    status_label = fields.Function(lambda e: STATUS_LABELS[e.status])
    reject_reason = fields.String(allow_none=True)
    proposed_by_id = fields.Integer(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True, metadata={"description": "取消原因"})


class ExchangeDetailSchema(ExchangeSchema):
    attendee_count = fields.Integer()
    checked_in = fields.Boolean(metadata={"description": "本人是否已签到"})
    can_manage = fields.Boolean()


ExchangePageSchema = page_schema(ExchangeSchema, "ExchangePage")


class ExchangeListArgs(PageArgs):
    year = fields.Integer(validate=YEAR)
    status = fields.String(validate=validate.OneOf(EXCHANGE_STATUSES))
    branch_id = fields.Integer()


class ReviewSchema(StrictSchema):
    approve = fields.Boolean(required=True, metadata={"description": "true 通过，false 退回"})
    reason = fields.String(validate=validate.Length(min=2, max=500), metadata={"description": "退回原因（退回时必填）"})


class CancelSchema(StrictSchema):
    reason = fields.String(validate=validate.Length(max=200), allow_none=True,
                           metadata={"description": "取消（撤回）原因；交流已开始或已举行时必填"})


class AttendanceInSchema(StrictSchema):
    member_ids = fields.List(fields.Integer(), required=True, validate=validate.Length(min=1, max=500))


class AttendanceResultSchema(Schema):
    added = fields.Integer()
    already = fields.Integer()


class AttendeeSchema(Schema):
    member_id = fields.Integer()
    name = fields.String()
    via = fields.String(metadata={"description": "checkin 扫码签到 / secretary 书记登记"})
    recorded_at = fields.DateTime()


class CheckInSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=20))


class CheckInResultSchema(Schema):
    exchange_id = fields.Integer()
    checked_in = fields.Boolean()
    first_time = fields.Boolean(metadata={"description": "false 表示此前已签到（不重复计数）"})


class CheckInCodeSchema(Schema):
    code = fields.String(metadata={"description": "6 位签到码"})
    qr_payload = fields.String(metadata={"description": "二维码内容，小程序扫码后提交其中的签到码"})
    qr_image = fields.String(metadata={"description": "二维码图片（PNG data URI），供手机全屏展示"})
    valid_from = fields.DateTime()
    valid_until = fields.DateTime()


class BookInSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    author = fields.String(required=True, validate=validate.Length(min=1, max=100))
    isbn = fields.String(validate=validate.Length(max=20), allow_none=True)
    finished_on = fields.Date(required=True)
    reflection = fields.String(required=True, validate=validate.Length(max=20000))


class BookSchema(Schema):
    id = fields.Integer()
    member = fields.Function(lambda b: {"id": b.member.id, "name": b.member.name})
    year = fields.Integer()
    title = fields.String()
    author = fields.String()
    isbn = fields.String(allow_none=True)
    finished_on = fields.Date()
    reflection = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    status_label = fields.Function(lambda b: STATUS_LABELS[b.status])
    reject_reason = fields.String(allow_none=True)
    revisions = fields.Integer()
    submitted_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)


BookPageSchema = page_schema(BookSchema, "BookPage")


class BookListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    year = fields.Integer(validate=YEAR)


class ItemPaceSchema(Schema):
    done = fields.Integer()
    quota = fields.Integer()
    expected = fields.Integer(metadata={"description": "按时间进度此时应完成的数量"})
    on_track = fields.Boolean()


class ExchangeRecordSchema(Schema):
    exchange_id = fields.Integer()
    title = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    status = fields.String()
    status_label = fields.String(metadata={"description": "已通过而尚未举行的为“已安排”"})
    held = fields.Boolean(metadata={"description": "交流是否已举行（结束时间已过）"})
    counts = fields.Boolean(metadata={"description": "是否计入完成数（已通过且已举行的才计入）"})
    via = fields.String()
    recorded_at = fields.DateTime()


class ProgressSchema(Schema):
    member = fields.Nested(RefSchema)
    year = fields.Integer()
    policy = fields.Nested(PolicySchema)
    given = fields.Integer()
    attended = fields.Integer()
    read = fields.Integer()
    given_scheduled = fields.Integer(metadata={"description": "已安排（已通过、尚未举行）的交流发言"})
    attended_scheduled = fields.Integer(metadata={"description": "已安排（已通过、尚未举行）的参加交流"})
    complete = fields.Boolean()
    pace = fields.String(metadata={"description": "complete 已完成 / on_track 进度正常 / behind 进度落后"})
    months_elapsed = fields.Integer()
    items = fields.Dict(keys=fields.String(), values=fields.Nested(ItemPaceSchema))
    talks = fields.List(fields.Nested(ExchangeRecordSchema))
    attendance = fields.List(fields.Nested(ExchangeRecordSchema))
    books = fields.List(fields.Nested(BookSchema))


class BoardRowSchema(Schema):
    member_id = fields.Integer()
    name = fields.String()
    group = fields.String(allow_none=True)
    given = fields.Integer()
    attended = fields.Integer()
    read = fields.Integer()
    given_scheduled = fields.Integer(metadata={"description": "已安排（已通过、尚未举行）的交流发言"})
    attended_scheduled = fields.Integer(metadata={"description": "已安排（已通过、尚未举行）的参加交流"})
    complete = fields.Boolean()


class BoardSchema(Schema):
    branch = fields.Nested(RefSchema)
    year = fields.Integer()
    policy = fields.Nested(PolicySchema)
    members = fields.List(fields.Nested(BoardRowSchema))
    member_count = fields.Integer()
    complete_count = fields.Integer()
    completion_rate = fields.Float()


class ExportArgs(YearArgs):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv")))


class PostingInSchema(StrictSchema):
    year = fields.Integer(validate=YEAR, metadata={"description": "公示的年度（默认今年）"})


class PostingSchema(Schema):
    id = fields.Integer()
    branch_id = fields.Integer()
    year = fields.Integer()
    period = fields.String(metadata={"description": "公示月份 YYYY-MM"})
    posted_at = fields.DateTime()
    member_count = fields.Integer()
    complete_count = fields.Integer()


class PostingDetailSchema(PostingSchema):
    policy = fields.Nested(PolicySchema)
    rows = fields.List(fields.Nested(BoardRowSchema))


PostingPageSchema = page_schema(PostingSchema, "QuotaPostingPage")


class PostingListArgs(PageArgs):
    year = fields.Integer(validate=YEAR)


class BranchCompletionSchema(Schema):
    branch_id = fields.Integer()
    branch_name = fields.String()
    committee_name = fields.String()
    member_count = fields.Integer()
    complete_count = fields.Integer()
    completion_rate = fields.Float()
