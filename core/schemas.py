"""Schema pieces every room uses: strict bodies with bounded fields, pagination, the JSON body parser, Chinese messages.

Every request body and query string is loaded by a StrictSchema, and every JSON body is read by JsonBodyParser, so
the limits here hold on every operation without a check in any room: text without control, bidi or zero-width
characters; integers within BIGINT; dates within the business calendar; JSON bodies shallow, with bounded numbers and
valid Unicode. Marshmallow's and webargs' English messages are replaced by Chinese ones. All of it is installed when
this module is imported, which core/__init__.py does first, before any room declares a schema or a view.
"""
import functools
import json
import re
from datetime import date

import flask_smorest
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import func, select
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request

from core.errors import AppError, Invalid
from core.extensions import db

# C0 and C1 controls (tab, newline and carriage return are text), bidi embeddings, overrides, isolates and marks,
# zero-width characters and the BOM, and lone surrogates.
UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u202a-\u202e"
                         "\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]")
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)
BIGINT = 2**63 - 1
MAX_JSON_DEPTH = 32
MAX_JSON_INT_DIGITS = 19


def unsafe_text_reason(text):
    """Say in Chinese why a text is refused (its first control, bidi or zero-width character), or None if it is fine."""
    found = UNSAFE_TEXT.search(text)
    if found is None:
        return None
    return f"不能包含控制字符、方向控制字符或零宽字符（第 {found.start() + 1} 个字符为 U+{ord(found.group()):04X}）"


def plain_text(value):
    """Validator for every text field: refuse control, bidi-override and zero-width characters."""
    reason = unsafe_text_reason(value) if isinstance(value, str) else None
    if reason:
        raise ValidationError(reason)


def _on_calendar(value):
    day = value.date() if hasattr(value, "date") else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(f"日期应在 {FIRST_DAY.isoformat()} 至 {LAST_DAY.isoformat()} 之间")


def _bound(field):
    """Add the global limits to a field (and to the fields inside a list, tuple or mapping), once.

    A schema's fields are copied shallowly (marshmallow's Field.__deepcopy__ is copy.copy), so a copy shares its
    validators list with the declared field: the limit goes into a new list, and only where it is not there yet.
    """
    if isinstance(field, fields.String):
        _add_validator(field, plain_text)
    elif isinstance(field, (fields.Date, fields.DateTime)):
        _add_validator(field, _on_calendar)
    elif isinstance(field, fields.Integer) and not any(isinstance(v, validate.Range) for v in field.validators):
        field.validators = [*field.validators, validate.Range(min=-BIGINT, max=BIGINT)]
    for inner in [getattr(field, "inner", None), getattr(field, "key_field", None),
                  getattr(field, "value_field", None), *getattr(field, "tuple_fields", ())]:
        if inner is not None:
            _bound(inner)


def _add_validator(field, validator):
    if validator not in field.validators:
        field.validators = [*field.validators, validator]


@functools.cache
def _instance(schema_class):
    return schema_class()


def _json_int(digits):
    if len(digits.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise Invalid("数值超出允许范围：整数最多 19 位", code="value_out_of_range")
    return int(digits)


def _json_float(text):
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise Invalid("数值超出允许范围", code="value_out_of_range")
    return value


def _json_constant(name):
    raise AppError(f"请求体不是有效的 JSON：不支持 {name}", code="bad_request", status=400)


_SURROGATE_ESCAPE = re.compile("[\ud800-\udfff]|\\\\u[dD][89abcdefABCDEF]")  # one itself (a str body), or its escape


def parse_json_body(data):
    """Decode a JSON request body, refusing what the rooms' code should never see: deep nesting, numbers past
    BIGINT, NaN/Infinity and lone surrogates (invalid Unicode that no database or response can hold)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("not UTF-8", doc="", pos=exc.start) from exc
    except RecursionError:
        raise AppError(f"请求体 JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）", code="bad_request", status=400)
    # The walk below is needed only when the text could hold either: more opening brackets than the depth allowed
    # (any in strings counted too), or a surrogate or a \u escape into them (the only way one gets into a decoded
    # UTF-8 body). A phone's answer sheet has neither, and skips a walk that was a thirtieth of a submit's CPU.
    if text.count("{") + text.count("[") <= MAX_JSON_DEPTH and not _SURROGATE_ESCAPE.search(text):
        return value
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)) and depth > MAX_JSON_DEPTH:
            raise AppError(f"请求体 JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）", code="bad_request", status=400)
        if isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str) and re.search("[\ud800-\udfff]", item):
            raise AppError("请求体含有无效的 Unicode 字符（孤立的代理项）", code="bad_request", status=400)
    return value


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies with parse_json_body and answering a broken one in Chinese, with
    one instance of each schema class: webargs would build one per request (35–75 µs of a write), and loading keeps
    nothing on the instance (no schema here stores state on itself)."""

    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            return _instance(argmap)
        return super()._get_schema(argmap, req)

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        return parse_json_body(req.get_data(cache=True))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise AppError("请求体不是有效的 JSON", code="bad_request", status=400)


# Marshmallow's and webargs' messages, in Chinese. Field messages are copied into each field when it is created,
# and Range/Length format theirs then, so these are installed before any room declares a schema.
FIELD_MESSAGES = {
    fields.Field: {"required": "缺少必填字段", "null": "不能为空", "validator_failed": "取值无效"},
    fields.Boolean: {"invalid": "不是有效的布尔值"},
    fields.Date: {"invalid": "不是有效的日期（格式 YYYY-MM-DD）", "format": "无法格式化为日期"},
    fields.DateTime: {"invalid": "不是有效的日期时间（ISO 8601 格式）", "invalid_awareness": "日期时间须带时区",
                      "format": "无法格式化为日期时间"},
    fields.NaiveDateTime: {"invalid_awareness": "日期时间不能带时区"},
    fields.AwareDateTime: {"invalid_awareness": "日期时间须带时区"},
    fields.Time: {"invalid": "不是有效的时间", "format": "无法格式化为时间"},
    fields.TimeDelta: {"invalid": "不是有效的时长", "format": "无法格式化为时长"},
    fields.Number: {"invalid": "不是有效的数字", "too_large": "数值过大"},
    fields.Integer: {"invalid": "不是有效的整数"},
    fields.Float: {"special": "不允许 NaN 或无穷大"},
    fields.Decimal: {"special": "不允许 NaN 或无穷大"},
    fields.String: {"invalid": "不是有效的字符串", "invalid_utf8": "不是有效的 UTF-8 字符串"},
    fields.Email: {"invalid": "不是有效的电子邮箱地址"},
    fields.Url: {"invalid": "不是有效的网址"},
    fields.UUID: {"invalid_uuid": "不是有效的 UUID"},
    fields.List: {"invalid": "不是有效的列表"},
    fields.Tuple: {"invalid": "不是有效的元组"},
    fields.Mapping: {"invalid": "不是有效的对象"},
    fields.Nested: {"type": "类型不正确"},
    fields.Enum: {"unknown": "应为以下之一：{choices}"},
    fields.IP: {"invalid_ip": "不是有效的 IP 地址"},
    fields.IPv4: {"invalid_ip": "不是有效的 IPv4 地址"},
    fields.IPv6: {"invalid_ip": "不是有效的 IPv6 地址"},
    fields.IPInterface: {"invalid_ip_interface": "不是有效的 IP 网段"},
    fields.IPv4Interface: {"invalid_ip_interface": "不是有效的 IPv4 网段"},
    fields.IPv6Interface: {"invalid_ip_interface": "不是有效的 IPv6 网段"},
}
VALIDATOR_MESSAGES = {
    validate.Range: {"message_min": "应{min_op} {{min}}", "message_max": "应{max_op} {{max}}",
                     "message_all": "应{min_op} {{min}} 且{max_op} {{max}}", "message_gte": "大于或等于",
                     "message_gt": "大于", "message_lte": "小于或等于", "message_lt": "小于"},
    validate.Length: {"message_min": "长度不能少于 {min}", "message_max": "长度不能超过 {max}",
                      "message_all": "长度应在 {min} 到 {max} 之间", "message_equal": "长度应为 {equal}"},
    validate.OneOf: {"default_message": "应为以下之一：{choices}"},
    validate.ContainsOnly: {"default_message": "含有不允许的选项，可选：{choices}"},
    validate.ContainsNoneOf: {"default_message": "不能含有以下选项：{values}"},
    validate.Equal: {"default_message": "应等于 {other}"},
    validate.NoneOf: {"default_message": "取值无效"},
    validate.Predicate: {"default_message": "取值无效"},
    validate.Regexp: {"default_message": "格式不正确"},
    validate.Email: {"default_message": "不是有效的电子邮箱地址"},
    validate.URL: {"default_message": "不是有效的网址"},
}


def install():
    """Put the Chinese messages in place and make every smorest blueprint read JSON with JsonBodyParser."""
    for cls, messages in FIELD_MESSAGES.items():
        cls.default_error_messages = {**cls.__dict__.get("default_error_messages", {}), **messages}
    for cls, messages in VALIDATOR_MESSAGES.items():
        for name, text in messages.items():
            setattr(cls, name, text)
    Schema._default_error_messages = {"type": "输入类型不正确", "unknown": "不允许的字段"}
    flask_smorest.Blueprint.ARGUMENTS_PARSER = JsonBodyParser()


# Before the schemas below are declared (PageArgs's fields copy their messages when they are created).
install()


class StrictSchema(Schema):
    """A request body or query string: unknown fields are an error, and every field carries the global limits."""

    class Meta:
        unknown = RAISE

    def on_bind_field(self, field_name, field_obj):
        _bound(field_obj)


class PageArgs(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


def page_schema(item_schema, name):
    """Return a paginated envelope schema class for item_schema."""
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item_schema)),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
        "total": fields.Integer(),
    })


def paginate(select_stmt, page, per_page):
    """Run a select with LIMIT/OFFSET and a count; return the envelope dict."""
    total = db.session.scalar(select(func.count()).select_from(select_stmt.order_by(None).subquery()))
    items = db.session.scalars(select_stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "page": page, "per_page": per_page, "total": total}
