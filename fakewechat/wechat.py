"""The WeChat mini-program and WeCom robot server APIs the app calls: same URLs, JSON fields and errcodes."""
import base64
import re
import secrets
import time

from flask import Blueprint, jsonify, request

from fakewechat.state import (
    CODE_TTL,
    FORCE_REFRESH_GAP,
    FORCE_REFRESH_PER_DAY,
    LANGS,
    LOGIN_PER_MINUTE,
    MARKDOWN_MAX_BYTES,
    MINIPROGRAM_STATES,
    TEXT_MAX_BYTES,
    TOKEN_OVERLAP,
    TOKEN_PREFIX,
    TOKEN_TTL,
    WEBHOOK_PER_MINUTE,
    state,
    valid_template_value,
)

bp = Blueprint("wechat", __name__)

_PAGE = re.compile(r"[\w\-]+(?:/[\w\-]+)*(?:\?[^\s#]*)?")


def _wx(errcode, errmsg):
    # WeChat answers errors with HTTP 200 and a request id in errmsg.
    return jsonify(errcode=errcode, errmsg=f"{errmsg} rid: {secrets.token_hex(6)}")


def _ok(**fields):
    return jsonify(errcode=0, errmsg="ok", **fields)


def _in_window(window, now, limit):
    """Drop entries older than a minute; say whether another one still fits under the limit."""
    while window and window[0] <= now - 60:
        window.popleft()
    return len(window) < limit


def check_token():
    """Return None when the access_token query parameter is usable, else the error response."""
    token = request.args.get("access_token")
    if not token:
        return _wx(41001, "access_token missing")
    if not token.startswith(TOKEN_PREFIX):
        return _wx(40014, "invalid access_token")
    info = state.tokens.get(token)
    if info is None or info["revoked"]:
        return _wx(40001, "invalid credential, access_token is invalid or not latest")
    if info["expires_at"] <= state.now():
        return _wx(42001, "access_token expired")
    return None


def json_body():
    """The request's JSON object, or None when the body is not one."""
    body = request.get_json(silent=True, force=True)
    return body if isinstance(body, dict) else None


@bp.before_app_request
def count_and_inject_faults():
    """Count each API call and answer it with the next fault injected for its path, if any."""
    if request.path.startswith("/_fake/"):
        return None
    with state.lock:
        state.calls[request.path] += 1
        queue = state.faults.get(request.path)
        fault = queue.popleft() if queue else None
    if fault is None:
        return None
    if fault["delay"]:
        time.sleep(fault["delay"])  # real time: the client's socket timeout is real time too
    if fault["http_status"]:
        body = {"errcode": fault["errcode"], "errmsg": "fake fault"} if fault["errcode"] is not None else None
        return (jsonify(body) if body else "fake upstream failure"), fault["http_status"]
    if fault["errcode"] is not None:
        return _wx(fault["errcode"], "fake fault")
    return None

@bp.app_errorhandler(404)
def unknown_path(_error):
    return _wx(40066, "invalid url")

@bp.app_errorhandler(405)
def wrong_method(_error):
    return _wx(43002 if request.method == "GET" else 43001,
               "require POST method" if request.method == "GET" else "require GET method")


# ---- WeChat: login -------------------------------------------------------------------------------
@bp.get("/sns/jscode2session")
def jscode2session():
    args = request.args
    if args.get("appid") != state.appid:
        return _wx(40013, "invalid appid")
    if args.get("secret") != state.secret:
        return _wx(40125, "invalid appsecret")
    if args.get("grant_type") != "authorization_code":
        return _wx(40002, "invalid grant_type")
    code = args.get("js_code", "")
    with state.lock:
        now = state.now()
        if code.startswith("dev:") and len(code) > 4:
            openid = code[4:]  # dev convenience of the fake only; real WeChat never accepts these
        else:
            entry = state.login_codes.get(code)
            if entry is None or now - entry["issued"] > CODE_TTL:
                return _wx(40029, "invalid code")
            if entry["used"]:
                return _wx(40163, "code been used")
            entry["used"] = True
            openid = entry["openid"]
        if not _in_window(state.login_windows[openid], now, LOGIN_PER_MINUTE):
            return _wx(45011, "api minute-quota reach limit  mustslower  retry next minute")
        state.login_windows[openid].append(now)
        if openid in state.high_risk:
            return _wx(40226, "invalid login, high risk user")
        state.known_openids.add(openid)
        unionid = state.unionids.get(openid)
    body = {"openid": openid, "session_key": base64.b64encode(secrets.token_bytes(16)).decode()}
    if unionid:
        body["unionid"] = unionid
    return jsonify(body)

# ---- WeChat: access tokens -----------------------------------------------------------------------
def _credentials_refused(params):
    """WeChat's answer to a token request with a wrong grant type, appid or secret; None when they are right."""
    if params.get("grant_type") != "client_credential":
        return _wx(40002, "invalid grant_type")
    if params.get("appid") != state.appid:
        return _wx(40013, "invalid appid")
    if params.get("secret") != state.secret:
        return _wx(40125, "invalid appsecret")
    return None

@bp.post("/cgi-bin/stable_token")
def stable_token():
    body = json_body()
    if body is None:
        return _wx(47001, "data format error")
    refused = _credentials_refused(body)
    if refused:
        return refused
    with state.lock:
        now = state.now()
        current = state.stable_token if state.token_live(state.stable_token, now) else None
        if body.get("force_refresh") is True:
            recent = state.last_force is not None and now - state.last_force < FORCE_REFRESH_GAP
            if not (current and recent):
                day = int(now // 86400)
                if state.force_by_day[day] >= FORCE_REFRESH_PER_DAY:
                    return _wx(45009, "reach max api daily quota limit")
                state.force_by_day[day] += 1
                state.last_force = now
                if current:
                    state.tokens[current]["revoked"] = True  # force mode kills the old token at once
                current = state.new_token(now)
        elif current is None or state.tokens[current]["expires_at"] - now < TOKEN_OVERLAP:
            # Normal mode hands out a new token in the last 5 minutes; the old one runs out on its own.
            current = state.new_token(now)
        state.stable_token = current
        expires_in = int(state.tokens[current]["expires_at"] - now)
    return jsonify(access_token=current, expires_in=expires_in)

@bp.get("/cgi-bin/token")
def legacy_token():
    args = request.args
    refused = _credentials_refused(args)
    if refused:
        return refused
    with state.lock:
        now = state.now()
        previous = state.tokens.get(state.legacy_token)
        if previous:
            previous["expires_at"] = min(previous["expires_at"], now + TOKEN_OVERLAP)
        state.legacy_token = state.new_token(now)
        token = state.legacy_token
    return jsonify(access_token=token, expires_in=TOKEN_TTL)

def _authorized_body():
    """(the JSON body, None) of a call with a valid access token, or (None, WeChat's error answer)."""
    failure = check_token()
    if failure:
        return None, failure
    body = json_body()
    if body is None:
        return None, _wx(47001, "data format error")
    return body, None


# ---- WeChat: phone number ------------------------------------------------------------------------
@bp.post("/wxa/business/getuserphonenumber")
def get_user_phone_number():
    body, failure = _authorized_body()
    if failure:
        return failure
    code = str(body.get("code") or "")
    with state.lock:
        now = state.now()
        if code.startswith("dev-phone:") and code[10:].isdigit():
            phone = code[10:]  # dev convenience of the fake only
        else:
            entry = state.phone_codes.get(code)
            if entry is None or entry["used"] or now - entry["issued"] > CODE_TTL:
                return _wx(40029, "invalid code")
            entry["used"] = True
            phone = entry["phone"]
    return _ok(phone_info={
        "phoneNumber": "+86" + phone, "purePhoneNumber": phone, "countryCode": "86",
        "watermark": {"timestamp": int(now), "appid": state.appid},
    })

# ---- WeChat: subscribe messages ------------------------------------------------------------------
@bp.post("/cgi-bin/message/subscribe/send")
def subscribe_send():
    body, failure = _authorized_body()
    if failure:
        return failure
    with state.lock:
        openid = body.get("touser")
        if not openid or openid not in state.known_openids:
            return _wx(40003, "invalid openid")
        keys = state.templates.get(body.get("template_id"))
        if keys is None:
            return _wx(40037, "invalid template_id")
        keys = dict(keys)
    page = body.get("page")
    if page not in (None, "") and not (isinstance(page, str) and _PAGE.fullmatch(page)):
        return _wx(41030, "invalid page")
    if body.get("miniprogram_state", "formal") not in MINIPROGRAM_STATES:
        return _wx(47003, "argument invalid! miniprogram_state invalid")
    if body.get("lang", "zh_CN") not in LANGS:
        return _wx(47003, "argument invalid! lang invalid")
    problem = _check_data(body.get("data"), keys)
    if problem:
        return _wx(47003, f"argument invalid! {problem}")
    with state.lock:
        pair = (openid, body["template_id"])
        if state.consents[pair] <= 0:
            return _wx(43101, "user refuse to accept the msg")
        state.consents[pair] -= 1
        state.next_msgid += 1
        msgid = state.next_msgid
        state.record_message({
            "msgid": msgid, "touser": openid, "template_id": body["template_id"], "page": page,
            "data": {k: v["value"] for k, v in body["data"].items()},
            "miniprogram_state": body.get("miniprogram_state", "formal"), "lang": body.get("lang", "zh_CN"),
            "at": state.now(),
        })
    return _ok(msgid=msgid)

# ---- WeCom group robot ---------------------------------------------------------------------------
@bp.post("/cgi-bin/webhook/send")
def webhook_send():
    robot = request.args.get("key", "")
    with state.lock:
        if robot not in state.webhook_keys:
            return jsonify(errcode=93000, errmsg="invalid webhook url")
    body = json_body()
    if body is None:
        return jsonify(errcode=40035, errmsg="invalid json")
    problem = _check_webhook_message(body)
    if problem:
        return jsonify(errcode=problem[0], errmsg=problem[1])
    with state.lock:
        now = state.now()
        window = state.webhook_windows[robot]
        if not _in_window(window, now, WEBHOOK_PER_MINUTE):
            return jsonify(errcode=130101, errmsg="send too fast, exceed 20 times per minute")
        window.append(now)
        msgtype = body["msgtype"]
        state.webhook_messages.append({"key": robot, "msgtype": msgtype, msgtype: body[msgtype], "at": now})
    return jsonify(errcode=0, errmsg="ok")


def _check_data(data, keys):
    """Return what is wrong with a subscribe message's data (naming the field), or None."""
    if not isinstance(data, dict) or not data:
        return "data invalid"
    for name in data:
        if name not in keys:
            return f"data.{name} not in template"
    for name, key_type in keys.items():
        if name not in data:
            return f"data.{name} missing"
        entry = data[name]
        if not isinstance(entry, dict) or not valid_template_value(key_type, entry.get("value")):
            return f"data.{name}.value invalid"
    return None


def _check_webhook_message(body):
    """Return (errcode, errmsg) for a malformed robot message, or None."""
    msgtype = body.get("msgtype")
    if msgtype not in ("text", "markdown"):
        return 40008, "invalid message type"
    part = body.get(msgtype)
    content = part.get("content") if isinstance(part, dict) else None
    if not isinstance(content, str) or not content:
        return 44004, "empty content"
    limit = TEXT_MAX_BYTES if msgtype == "text" else MARKDOWN_MAX_BYTES
    if len(content.encode("utf-8")) > limit:
        return 40058, f"{msgtype}.content exceed max length {limit}. invalid Request Parameter"
    for field in ("mentioned_list", "mentioned_mobile_list"):
        value = part.get(field)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return 40058, f"{msgtype}.{field} invalid. invalid Request Parameter"
    return None
