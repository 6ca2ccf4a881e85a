"""The console's blueprint and what every desk page shares: the session and login check, the signed-in member,
CSRF, headers and error pages, and the small helpers the views use to read a form and answer it."""
import functools

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from console import services
from core import clock
from core.errors import HTTP_MESSAGES, AppError, Invalid
from core.extensions import db
from members.models import ROLE_LABELS

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")
csrf = CSRFProtect()


# --- session, CSRF and errors ------------------------------------------------------------------------

@bp.before_request
def _load_session():
    if request.method == "POST":
        csrf.protect()
    g.console_member = g.console_account = None
    session_id = session.get("console_sid")
    if session_id is not None:
        found = services.session_member(session_id)  # ended, expired or no longer a desk user: no session
        if found is None:
            session.clear()
        else:
            g.console_member, g.console_account = found
            g.console_sid = session_id


def console_login(view):
    """Require a console session; else send the browser to the login page."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.console_member is None:
            return redirect(url_for("console.login", next=request.full_path if request.method == "GET" else None))
        if g.console_account.must_change_password and request.endpoint != "console.password":
            return redirect(url_for("console.password"))  # a temporary password is used once, to set one's own
        return view(*args, **kwargs)

    return wrapper


def me():
    """The member signed in at the desk."""
    return g.console_member


@bp.app_context_processor
def _globals():
    return {"role_labels": ROLE_LABELS, "pct": _pct, "day_cn": day_cn, "time_cn": _time_cn}


@bp.after_request
def _headers(response):
    # Pages show names and phone numbers: never cache them, never frame them.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                                   "script-src 'self'; form-action 'self'; frame-ancestors 'none'")
    return response


@bp.errorhandler(AppError)
def _app_error(exc):
    db.session.rollback()
    return render_template("console/error.html", status=exc.status, message=exc.message), exc.status


@bp.errorhandler(CSRFError)
def _csrf_error(exc):
    return render_template("console/error.html", status=400, message="页面已过期，请刷新后重试"), 400


@bp.errorhandler(HTTPException)
def _http_error(exc):
    status = exc.code or 500
    return render_template("console/error.html", status=status,
                           message=HTTP_MESSAGES.get(status, (None, "请求失败"))[1]), status


def _pct(value):
    return "—" if value is None else f"{float(value) * 100:.0f}%"


def day_cn(day):
    """A date as 2026年11月30日."""
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def _time_cn(moment):
    return clock.format_cn(moment) if moment else ""


# --- reading a request, answering a form -------------------------------------------------------------

def form_errors(exc):
    """A form's field errors from a failed load (ValidationError) or a refused service call (AppError, rolled back)."""
    if isinstance(exc, ValidationError):
        return exc.normalized_messages()
    db.session.rollback()
    return exc.details.get("fields") or {"_": [exc.message]}


def act(call, success):
    """Run one service call for a button; flash its success, or roll back and flash why it was refused."""
    try:
        call()
        flash(success, "ok")
    except AppError as exc:
        db.session.rollback()
        flash(exc.message, "error")


def page_arg():
    """The ?page= number (1 when missing or not a number)."""
    try:
        return max(1, min(int(request.args.get("page", 1)), 100000))
    except ValueError:
        return 1


def year_arg():
    """The ?year= asked for (this year by default), refused outside 2000..next year."""
    try:
        year = int(request.args.get("year", clock.today().year))
    except ValueError:
        raise Invalid("年份格式不正确")
    if not 2000 <= year <= clock.today().year + 1:
        raise Invalid("年份超出范围")
    return year
