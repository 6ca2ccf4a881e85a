"""One error shape, made in one place: {"code": ..., "message": "中文说明", "details": {...}}."""
import logging
import math
import time

from apispec import BasePlugin
from flask import has_request_context, jsonify
from marshmallow import Schema, fields
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from core.extensions import db, limiter
from core.requestlog import request_id

log = logging.getLogger(__name__)

# Chinese messages for the statuses Flask itself may raise.
HTTP_MESSAGES = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "操作与当前状态冲突"),
    413: ("payload_too_large", "上传内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "请求参数不合法"),
    429: ("rate_limited", "操作过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误"),
    503: ("service_unavailable", "服务暂时不可用，请稍后再试"),
}


class AppError(Exception):
    """A failure the client should hear about in the standard error shape."""

    status = 400
    code = "bad_request"

    def __init__(self, message, code=None, status=None, details=None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details or {}

    @classmethod
    def field(cls, message, name, *reasons, **kw):
        """The error about one field: `reasons` go under details["fields"][name]."""
        return cls.fields(message, {name: list(reasons)}, **kw)

    @classmethod
    def fields(cls, message, fields, **kw):
        """The error about several fields, `fields` mapping each name to its list of reasons."""
        return cls(message, details={"fields": fields}, **kw)


class NotFound(AppError):
    status, code = 404, "not_found"

    def __init__(self, message="资源不存在", **kw):
        super().__init__(message, **kw)


class Forbidden(AppError):
    status, code = 403, "forbidden"

    def __init__(self, message="没有权限执行此操作", **kw):
        super().__init__(message, **kw)


class Unauthorized(AppError):
    status, code = 401, "unauthorized"

    def __init__(self, message="请先登录", **kw):
        super().__init__(message, **kw)


class Conflict(AppError):
    status, code = 409, "conflict"


class RateLimited(AppError):
    status, code = 429, "rate_limited"

    def __init__(self, message="操作过于频繁，请稍后再试", retry_after=None, **kw):
        super().__init__(message, **kw)
        self.retry_after = retry_after  # seconds, sent as Retry-After


class Invalid(AppError):
    status, code = 422, "validation_error"


class Unavailable(AppError):
    status, code = 503, "service_unavailable"

    def __init__(self, message="服务暂时不可用，请稍后再试", **kw):
        super().__init__(message, **kw)


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "机器可读的错误码"})
    message = fields.String(required=True, metadata={"description": "中文说明"})
    details = fields.Dict(metadata={"description": "细节，例如逐字段或逐行的错误"})


def error_response(status, code, message, details=None):
    # The request id, also in the X-Request-ID header and every log line, ties a reported error to its logs.
    details = {**(details or {}), "request_id": request_id()} if has_request_context() else details or {}
    response = jsonify({"code": code, "message": message, "details": details})
    response.status_code = status
    return response


def http_error_response(exc):
    """Turn a werkzeug HTTPException (and smorest's abort with webargs messages) into the shape."""
    status = exc.code or 500
    code, message = HTTP_MESSAGES.get(status, ("http_error", exc.description or "请求失败"))
    details = {}
    data = getattr(exc, "data", None) or {}
    if "messages" in data:
        details = {"fields": _flatten_locations(data["messages"])}
    elif data.get("message"):
        message = data["message"]
    if status == 429:
        details = {"limit": str(exc.description)}
    response = error_response(status, code, message, details)
    if status == 429:
        _say_when_to_retry(response)
    if getattr(exc, "valid_methods", None):  # a 405 says which methods the resource does allow (RFC 9110)
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _say_when_to_retry(response):
    """Retry-After on a refusal of Flask-Limiter's: the seconds until the breached window resets (one Redis read,
    on refusals only; nothing if Redis cannot say)."""
    try:
        limit = limiter.current_limit
        if limit is not None:
            seconds = min(limit.limit.get_expiry(), math.ceil(limit.reset_at - time.time()))  # reset_at is whole
            response.headers["Retry-After"] = str(max(1, seconds))
    except Exception:  # the refusal stands without the hint
        log.warning("could not read the rate limit's window for Retry-After", exc_info=True)


def _flatten_locations(messages):
    # webargs nests errors by location ({"json": {...}}); the client only needs field → reasons.
    flat = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            flat.update(errors)
        else:
            flat[location] = errors
    return flat


def register(app):
    """Install the handlers that make every failure the one JSON shape."""

    @app.errorhandler(AppError)
    def _app_error(exc):
        db.session.rollback()
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        if getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        return http_error_response(exc)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _db_down(exc):
        log.warning("database unavailable: %s", exc.__class__.__name__)
        try:
            db.session.rollback()
        except Exception:  # the connection may be gone; the pool will recycle it
            db.session.remove()
        return error_response(503, "database_unavailable", "数据库暂时不可用，请稍后再试")

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(exc):
        # A number past what a column holds (a client-sent id of 2**70, say) is bad input, not a server fault.
        db.session.rollback()
        return error_response(422, "value_out_of_range", "数值超出允许范围")

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def _redis_down(exc):
        log.warning("redis unavailable: %s", exc.__class__.__name__)
        return error_response(503, "cache_unavailable", "缓存服务暂时不可用，请稍后再试")

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error")
        db.session.rollback()
        return error_response(500, "internal_error", "服务器内部错误")


def documented_errors_plugin():
    """An apispec plugin that documents, on every operation, the error responses the app can give."""

    class DocumentedErrors(BasePlugin):
        def operation_helper(self, path=None, operations=None, **kwargs):
            for method, operation in (operations or {}).items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                responses = operation.setdefault("responses", {})
                public = operation.get("security") == []
                if not public:
                    operation.setdefault("security", [{"bearerAuth": []}])
                # What every route may answer, in the one error shape; the ErrorSchema refs come from smorest.
                codes = {"404": "NOT_FOUND", "405": "METHOD_NOT_ALLOWED", "422": "UNPROCESSABLE_ENTITY",
                         "429": "TOO_MANY_REQUESTS", "503": "SERVICE_UNAVAILABLE"}
                if not public:
                    codes.update({"401": "UNAUTHORIZED", "403": "FORBIDDEN"})
                if method != "get":  # a body that is not JSON, or nested too deep, is a 400 (core.schemas)
                    codes.update({"400": "BAD_REQUEST", "409": "CONFLICT", "413": "REQUEST_ENTITY_TOO_LARGE"})
                for code, name in codes.items():
                    responses.setdefault(code, name)

    return DocumentedErrors()
