"""Logging in and desk accounts: login and logout; an admin opens accounts and resets passwords for the desk users of
their subtree; everyone changes their own password. The verbs are console.services'; these views parse a form, call
one, render."""
from datetime import timedelta

from flask import current_app, flash, g, redirect, render_template, request, session, url_for

from console import services
from console.desk import bp, console_login, form_errors, me
from core.errors import AppError, Forbidden
from core.extensions import db, limiter
from members import scope
from members.models import Member

ACCOUNTS_SHOWN = 500  # desk users of one subtree: a committee has a secretary per branch


# --- login -----------------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CONSOLE_LOGIN_RATE"],
               key_func=lambda: f"console-login:{request.remote_addr}", methods=["POST"])
def login():
    """Show the login form; check a username and password."""
    error = None
    if request.method == "POST":
        try:
            member, _ = services.authenticate(request.form.get("username", ""), request.form.get("password", ""),
                                              request.remote_addr or "-")
        except AppError as exc:
            error = exc.message
            return render_template("console/login.html", error=error,
                                   username=request.form.get("username", "")), exc.status
        session.clear()  # a fresh session (and CSRF token) at every login: no fixation
        session.permanent = True
        current_app.permanent_session_lifetime = timedelta(hours=current_app.config["CONSOLE_SESSION_HOURS"])
        session["console_sid"] = services.open_session(member)
        target = request.args.get("next") or ""
        return redirect(target if target.startswith("/console/") else url_for("console.overview"))
    return render_template("console/login.html", error=error, username="")


@bp.post("/logout")
def logout():
    """End the console session."""
    if g.console_member is not None:
        services.logout(g.console_member, g.console_sid)
    session.clear()
    flash("已安全退出。", "ok")
    return redirect(url_for("console.login"))


# --- accounts and passwords ----------------------------------------------------------------------------


def _accounts_page(issued=None, errors=None, error_member=None, status=200):
    if not scope.manages_committee(me()):
        raise Forbidden("只有党委管理员可以管理工作台账号")
    rows = db.session.execute(services.accounts_in_scope(me()).limit(ACCOUNTS_SHOWN)).all()
    return render_template("console/accounts.html", rows=rows, issued=issued, errors=errors or {},
                           error_member=error_member, form=request.form), status


@bp.get("/accounts")
@console_login
def accounts():
    """The secretaries and admins of the admin's subtree, with their console accounts."""
    return _accounts_page()


@bp.post("/accounts/<int:member_id>")
@console_login
def create_account(member_id):
    """Open an account with a one-time password, shown once on this page (never put in the cookie's flash)."""
    try:
        account, password = services.create_account(me(), member_id, request.form.get("username", ""))
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        return _accounts_page(errors=form_errors(exc), error_member=member_id, status=exc.status)
    return _accounts_page(issued={"member": _member(member_id), "username": account.username,
                                  "password": password, "action": "开通"})


@bp.post("/accounts/<int:member_id>/reset")
@console_login
def reset_password(member_id):
    """Give a desk user a new one-time password; their sessions end."""
    account, password = services.reset_password(me(), member_id)
    return _accounts_page(issued={"member": _member(member_id), "username": account.username,
                                  "password": password, "action": "重置"})


def _member(member_id):
    return db.session.get(Member, member_id)  # already loaded by the service's scope check


@bp.route("/password", methods=["GET", "POST"])
@console_login
def password():
    """Change one's own password (required first after a temporary one)."""
    errors = {}
    if request.method == "POST":
        form = request.form
        if form.get("new", "") != form.get("confirm", ""):
            errors = {"confirm": ["两次输入的新密码不一致"]}
        else:
            try:
                services.change_password(me(), g.console_sid, form.get("current", ""), form.get("new", ""))
                flash("密码已修改，其他登录已退出。", "ok")
                return redirect(url_for("console.overview"))
            except AppError as exc:
                errors = form_errors(exc)
    return render_template("console/password.html", errors=errors,
                           forced=g.console_account.must_change_password), 422 if errors else 200
