"""交流: a branch's exchanges of the year — review proposals, create, cancel, mark attendance — and the projector page
with the check-in QR code. Every verb is quotas.services'; the QR is drawn here, on the server, with segno."""
import io

import segno
from flask import flash, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup
from marshmallow import ValidationError
from sqlalchemy import func, select

from console.desk import act, bp, console_login, form_errors, me, year_arg
from console.members import chosen_branch, scoped_branches
from core import clock
from core.errors import AppError
from core.extensions import db
from members import scope
from members.services import list_branch_members
from quotas.models import Attendance
from quotas.schemas import ExchangeInSchema
from quotas.services import (
    attendance_rows,
    cancel_exchange,
    checkin_code,
    create_exchange,
    exchange_for,
    list_exchanges,
    mark_attendance,
    remove_attendance,
    review_exchange,
)

# The desk's view of an exchange's state: an approved exchange is 已安排 until its end has passed, then 已举行.
STATES = {"pending": "待审核", "upcoming": "已安排", "held": "已举行", "rejected": "已退回", "cancelled": "已取消"}
STATE_BADGES = {"pending": "mid", "upcoming": "plain", "held": "good", "rejected": "bad", "cancelled": "bad"}


def state_of(exchange, now):
    if exchange.status == "approved":
        return "held" if exchange.ends_at <= now else "upcoming"
    return exchange.status


@bp.app_context_processor
def _exchange_globals():
    return {"exchange_states": STATES, "exchange_badges": STATE_BADGES, "exchange_state": state_of}


def _exchange(exchange_id):
    return exchange_for(me(), exchange_id, manage=True)


def _list_page(branches, branch, year, form=None, errors=None):
    now = clock.now()
    items = db.session.scalars(list_exchanges(me(), year, branch_id=branch.id)).all() if branch else []
    people = db.session.scalars(list_branch_members(branch, active=True)).all() if branch else []
    return render_template("console/exchanges.html", branches=branches, branch=branch, year=year,
                           by_state={name: [e for e in items if state_of(e, now) == name] for name in STATES},
                           people=people, form=form or {}, errors=errors or {}), 422 if errors else 200


@bp.get("/exchanges")
@console_login
def exchanges():
    """The branch's exchanges of a year, by state, and the form to create one."""
    branches = scoped_branches(me())
    return _list_page(branches, chosen_branch(me(), branches), year_arg())


@bp.post("/exchanges")
@console_login
def exchange_create():
    """Record an exchange for a branch (a manager's is approved at once)."""
    form = request.form
    branch = _branch(form.get("branch_id") or me().branch_id or "")
    day = form.get("day", "")
    body = {"branch_id": branch.id, "title": form.get("title", "").strip(),
            "starts_at": f"{day}T{form.get('start', '')}", "ends_at": f"{day}T{form.get('end', '')}",
            "place": form.get("place", "").strip() or None, "online_url": form.get("online_url", "").strip() or None,
            "summary": form.get("summary", "").strip(),
            "guest_speakers": form.get("guest_speakers", "").strip() or None,
            "speaker_ids": [int(i) for i in form.getlist("speaker_ids") if i.isdigit()],
            "shared": form.get("shared") == "1"}
    try:
        exchange, created = create_exchange(me(), ExchangeInSchema().load(body))
        flash(f"已创建交流《{exchange.title}》。" if created else f"《{exchange.title}》已存在。", "ok")
        return redirect(url_for("console.exchange", exchange_id=exchange.id))
    except (ValidationError, AppError) as exc:
        errors = form_errors(exc)
    return _list_page(scoped_branches(me()), branch, clock.today().year, form, errors)


def _branch(raw):
    return scope.branch_for(me(), int(raw) if str(raw).isdigit() else 0)


@bp.get("/exchanges/<int:exchange_id>")
@console_login
def exchange(exchange_id):
    """One exchange: review, cancel, its speakers and who attended, marking and unmarking attendance."""
    item = _exchange(exchange_id)
    present = attendance_rows(item)
    marked = {row["member_id"] for row in present} | {s.member_id for s in item.speakers}
    absent = [m for m in db.session.scalars(list_branch_members(item.branch, active=True)) if m.id not in marked]
    return render_template("console/exchange.html", item=item, present=present, absent=absent, now=clock.now())


@bp.post("/exchanges/<int:exchange_id>/review")
@console_login
def exchange_review(exchange_id):
    """Approve a proposal, or reject it with a reason."""
    item = _exchange(exchange_id)
    approve = request.form.get("decision") == "approve"
    act(lambda: review_exchange(me(), item, approve, (request.form.get("reason") or "").strip() or None),
        f"已{'通过' if approve else '退回'}《{item.title}》。")
    return redirect(url_for("console.exchange", exchange_id=exchange_id))


@bp.post("/exchanges/<int:exchange_id>/cancel")
@console_login
def exchange_cancel(exchange_id):
    """Cancel an exchange (a reason is required once it has begun); nothing of it counts any more."""
    item = _exchange(exchange_id)
    act(lambda: cancel_exchange(me(), item, request.form.get("reason")), f"已取消《{item.title}》。")
    return redirect(url_for("console.exchange", exchange_id=exchange_id))


@bp.post("/exchanges/<int:exchange_id>/attendance")
@console_login
def exchange_mark(exchange_id):
    """Mark the ticked members present."""
    item = _exchange(exchange_id)
    ids = [int(i) for i in request.form.getlist("member_ids") if i.isdigit()]
    if not ids:
        flash("请先勾选参加的党员。", "error")
    else:
        act(lambda: mark_attendance(me(), item, ids), f"已登记 {len(ids)} 人参加。")
    return redirect(url_for("console.exchange", exchange_id=exchange_id))


@bp.post("/exchanges/<int:exchange_id>/attendance/<int:member_id>/remove")
@console_login
def exchange_unmark(exchange_id, member_id):
    """Withdraw a mistaken attendance."""
    item = _exchange(exchange_id)
    act(lambda: remove_attendance(me(), item, member_id), "已撤销该党员的参加记录。")
    return redirect(url_for("console.exchange", exchange_id=exchange_id))


# --- the projector -------------------------------------------------------------------------------

def qr_svg(payload):
    """The check-in payload as an inline SVG QR code, drawn on the server (no internet, no script)."""
    out = io.BytesIO()
    segno.make(payload, error="m").save(out, kind="svg", border=2, xmldecl=False, svgns=True, nl=False,
                                        omitsize=True, svgclass="qr", lineclass=None, dark="#000", light="#fff")
    return Markup(out.getvalue().decode())


def _attendee_count(item):
    return db.session.scalar(select(func.count()).where(Attendance.exchange_id == item.id))


@bp.get("/exchanges/<int:exchange_id>/projector")
@console_login
def exchange_projector(exchange_id):
    """Full screen for the meeting room: the title, the QR code of the check-in, the 6-digit code, the count live."""
    item = _exchange(exchange_id)
    code = checkin_code(item)
    return render_template("console/projector.html", item=item, code=code, qr=qr_svg(code["qr_payload"]),
                           count=_attendee_count(item))


@bp.get("/exchanges/<int:exchange_id>/count")
@console_login
def exchange_count(exchange_id):
    """How many are checked in (the projector asks every few seconds)."""
    return jsonify(count=_attendee_count(_exchange(exchange_id)))
