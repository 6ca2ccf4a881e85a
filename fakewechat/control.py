"""Control endpoints under /_fake/: tests and local development issue login and phone codes, register templates,
grant consents, inject faults, travel in time and read what was sent."""
import secrets

from flask import Blueprint, jsonify, request

from fakewechat.state import KEY_TYPES, state
from fakewechat.wechat import json_body

bp = Blueprint("control", __name__, url_prefix="/_fake")


def _bad_control(message):
    return jsonify(error=message), 400


@bp.post("/login-codes")
def issue_login_code():
    body = json_body() or {}
    openid = body.get("openid")
    if not openid:
        return _bad_control("openid is required")
    code = "lc_" + secrets.token_urlsafe(16)
    with state.lock:
        state.login_codes[code] = {"openid": openid, "issued": state.now(), "used": False}
        state.known_openids.add(openid)
        if body.get("unionid"):
            state.unionids[openid] = body["unionid"]
    return jsonify(code=code)

@bp.post("/phone-codes")
def issue_phone_code():
    phone = str((json_body() or {}).get("phone") or "")
    if not phone.isdigit():
        return _bad_control("phone must be digits, e.g. 13800000001")
    code = "pc_" + secrets.token_urlsafe(16)
    with state.lock:
        state.phone_codes[code] = {"phone": phone, "issued": state.now(), "used": False}
    return jsonify(code=code)

@bp.route("/templates", methods=["GET", "POST"])
def templates():
    if request.method == "GET":
        with state.lock:
            return jsonify(templates=state.templates)
    body = json_body() or {}
    keys = body.get("keys")
    if not body.get("template_id") or not isinstance(keys, dict) or not keys:
        return _bad_control("template_id and a non-empty keys mapping are required")
    unknown = sorted(set(keys.values()) - set(KEY_TYPES))
    if unknown:
        return _bad_control(f"unknown key types {unknown}; known: {list(KEY_TYPES)}")
    with state.lock:
        state.templates[body["template_id"]] = dict(keys)
    return jsonify(template_id=body["template_id"], keys=keys)

@bp.route("/consents", methods=["GET", "POST"])
def consents():
    if request.method == "GET":
        with state.lock:
            rows = [{"openid": o, "template_id": t, "remaining": n} for (o, t), n in state.consents.items()]
        return jsonify(consents=rows)
    body = json_body() or {}
    openid, template_id, count = body.get("openid"), body.get("template_id"), body.get("count", 1)
    if not openid or not isinstance(count, int) or count < 0:
        return _bad_control("openid and a non-negative integer count are required")
    with state.lock:
        if not state.grant([openid], template_id, count):
            return _bad_control(f"template {template_id!r} is not registered")
        remaining = state.consents[(openid, template_id)]
    return jsonify(openid=openid, template_id=template_id, remaining=remaining)

@bp.post("/consents/bulk")
def bulk_consents():
    # Benchmarks grant 100,000 members a consent each: one call instead of 100,000.
    body = json_body() or {}
    openids, template_id, count = body.get("openids"), body.get("template_id"), body.get("count", 1)
    if not isinstance(openids, list) or not all(isinstance(o, str) and o for o in openids) \
            or not isinstance(count, int) or count < 0:
        return _bad_control("openids (a list of strings) and a non-negative integer count are required")
    if not state.grant(openids, template_id, count):
        return _bad_control(f"template {template_id!r} is not registered")
    return jsonify(template_id=template_id, openids=len(openids), count=count)

@bp.get("/messages/summary")
def message_summary():
    # Counts only: a benchmark checks 100,000 deliveries without downloading them, and polls this while they
    # arrive, so it reads the tallies kept as each message is recorded (walking the list held the lock that every
    # send waits for, for a tenth of a second a poll at 100,000).
    with state.lock:
        tally = state.tallies.get(request.args.get("template_id"))
        if tally is None:
            return jsonify(total=0, distinct=0, first_at=None, last_at=None)
        return jsonify(total=tally["total"], distinct=len(tally["pairs"]), first_at=tally["first_at"],
                       last_at=tally["last_at"])

@bp.post("/webhooks")
def add_webhook():
    robot = (json_body() or {}).get("key")
    if not robot:
        return _bad_control("key is required")
    with state.lock:
        state.webhook_keys.add(robot)
    return jsonify(key=robot)

@bp.post("/high-risk")
def mark_high_risk():
    body = json_body() or {}
    if not body.get("openid"):
        return _bad_control("openid is required")
    with state.lock:
        if body.get("high_risk", True):
            state.high_risk.add(body["openid"])
        else:
            state.high_risk.discard(body["openid"])
    return jsonify(openid=body["openid"], high_risk=body.get("high_risk", True))

@bp.post("/faults")
def add_fault():
    body = json_body() or {}
    path, times = body.get("path"), body.get("times", 1)
    if not path or not path.startswith("/") or not isinstance(times, int) or times < 1:
        return _bad_control("path (starting with /) and times >= 1 are required")
    fault = {"errcode": body.get("errcode"), "http_status": body.get("http_status"),
             "delay": float(body.get("delay") or 0)}
    with state.lock:
        state.faults[path].extend(dict(fault) for _ in range(times))
        pending = len(state.faults[path])
    return jsonify(path=path, pending=pending)

@bp.post("/expire-token")
def expire_token():
    mode = (json_body() or {}).get("mode", "expired")
    if mode not in ("expired", "invalid"):
        return _bad_control("mode must be 'expired' or 'invalid'")
    with state.lock:
        now = state.now()
        for info in state.tokens.values():
            if mode == "expired":
                info["expires_at"] = min(info["expires_at"], now)
            else:
                info["revoked"] = True
        state.stable_token = state.legacy_token = None
    return jsonify(mode=mode)

@bp.post("/clock")
def travel():
    advance = (json_body() or {}).get("advance", 0)
    if not isinstance(advance, (int, float)) or advance < 0:
        return _bad_control("advance must be a non-negative number of seconds")
    with state.lock:
        state.offset += advance
        now = state.now()
    return jsonify(now=now, offset=state.offset)

@bp.get("/messages")
def list_messages():
    with state.lock:
        rows = [m for m in state.messages
                if request.args.get("touser") in (None, m["touser"])
                and request.args.get("template_id") in (None, m["template_id"])]
    return jsonify(messages=rows)

@bp.get("/webhook-messages")
def list_webhook_messages():
    with state.lock:
        rows = [m for m in state.webhook_messages if request.args.get("key") in (None, m["key"])]
    return jsonify(messages=rows)

@bp.get("/calls")
def list_calls():
    with state.lock:
        counts = dict(state.calls)
    return jsonify(counts=counts, total=sum(counts.values()))

@bp.post("/reset")
def reset():
    with state.lock:
        state.reset()
    return jsonify(reset=True)
