"""A local fake of the WeChat mini-program and WeCom robot server APIs: same URLs, JSON fields and errcodes.

State lives in memory behind one lock. Control endpoints under /_fake/ let tests and local development
issue login and phone codes, register templates, grant consents, inject faults and travel in time.
"""
import base64
import logging
import re
import secrets
import threading
import time
from collections import defaultdict, deque

from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler

CODE_TTL = 300            # wx.login and getPhoneNumber codes live 5 minutes
TOKEN_TTL = 7200
TOKEN_OVERLAP = 300       # a replaced token stays valid 5 more minutes
FORCE_REFRESH_PER_DAY = 20
FORCE_REFRESH_GAP = 30    # force_refresh within 30 s of the last one returns the same token
LOGIN_PER_MINUTE = 100
WEBHOOK_PER_MINUTE = 20
TEXT_MAX_BYTES = 2048
MARKDOWN_MAX_BYTES = 4096
TOKEN_PREFIX = "FAKE_AT_"

# Templates every fresh fake knows, keyed by template id. The app's notification config may use these ids.
DEFAULT_TEMPLATES = {
    "tmpl-study-material": {"thing1": "thing", "date2": "date", "thing3": "thing"},
    "tmpl-quiz-open": {"thing1": "thing", "time2": "time", "thing3": "thing"},
    "tmpl-quiz-reminder": {"thing1": "thing", "time2": "time", "thing3": "thing"},
    "tmpl-quiz-result": {"thing1": "thing", "number2": "number", "phrase3": "phrase", "thing4": "thing"},
    "tmpl-task-reminder": {"thing1": "thing", "time2": "time", "name3": "name", "thing4": "thing"},
}
DEFAULT_WEBHOOK_KEYS = ("demo-webhook-key",)

KEY_TYPES = ("thing", "number", "letter", "symbol", "character_string", "phrase", "name", "time", "date")
MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_DATE = r"\d{4}年\d{1,2}月\d{1,2}日"
_CLOCK = r"\d{1,2}:\d{2}"
_TIME_POINT = rf"(?:{_DATE} )?{_CLOCK}"
_DATE_POINT = rf"{_DATE}(?: {_CLOCK})?"
_VALUE_RULES = {
    "thing": lambda v: 0 < len(v) <= 20 and "\n" not in v,
    "number": lambda v: len(v) <= 32 and re.fullmatch(r"\d+(\.\d+)?", v),
    "letter": lambda v: re.fullmatch(r"[A-Za-z]{1,32}", v),
    "symbol": lambda v: 0 < len(v) <= 5,
    "character_string": lambda v: re.fullmatch(r"[\x21-\x7e]{1,32}", v),
    "phrase": lambda v: re.fullmatch(rf"[{_CJK}]{{1,5}}", v),
    "name": lambda v: re.fullmatch(rf"[{_CJK}]{{1,10}}", v) or re.fullmatch(r"[A-Za-z][A-Za-z .'\-]{0,19}", v),
    # Both accept a range "a~b"; time needs a clock, date needs a day.
    "time": lambda v: re.fullmatch(rf"{_TIME_POINT}(?:~{_TIME_POINT})?", v),
    "date": lambda v: re.fullmatch(rf"{_DATE_POINT}(?:~{_DATE_POINT})?", v),
}
_PAGE = re.compile(r"[\w\-]+(?:/[\w\-]+)*(?:\?[^\s#]*)?")


def valid_template_value(key_type, value):
    """Say whether WeChat would accept this value for a template key of this type."""
    return isinstance(value, str) and bool(_VALUE_RULES[key_type](value))


class FakeState:
    """Everything the fake remembers; callers hold .lock while reading or changing it."""

    def __init__(self, appid, secret):
        self.appid = appid
        self.secret = secret
        self.lock = threading.RLock()
        self.reset()

    def grant(self, openids, template_id, count):
        """Users who allowed `count` more messages of a template (tapped 允许); False if it is not registered."""
        with self.lock:
            if template_id not in self.templates:
                return False
            self.known_openids.update(openids)
            for openid in openids:
                self.consents[(openid, template_id)] += count
            return True

    def reset(self):
        self.offset = 0.0
        self.login_codes = {}          # code -> {"openid", "unionid", "issued", "used"}
        self.phone_codes = {}          # code -> {"phone", "issued", "used"}
        self.known_openids = set()
        self.unionids = {}
        self.high_risk = set()
        self.login_windows = defaultdict(deque)
        self.tokens = {}               # token -> {"expires_at", "revoked"}
        self.stable_token = None
        self.legacy_token = None
        self.last_force = None
        self.force_by_day = defaultdict(int)
        self.templates = {tid: dict(keys) for tid, keys in DEFAULT_TEMPLATES.items()}
        self.consents = defaultdict(int)
        self.messages = []
        self.webhook_keys = set(DEFAULT_WEBHOOK_KEYS)
        self.webhook_windows = defaultdict(deque)
        self.webhook_messages = []
        self.faults = defaultdict(deque)
        self.calls = defaultdict(int)
        self.next_msgid = 1000

    def now(self):
        return time.time() + self.offset

    def new_token(self, now):
        token = TOKEN_PREFIX + secrets.token_urlsafe(48)
        self.tokens[token] = {"expires_at": now + TOKEN_TTL, "revoked": False}
        return token

    def token_live(self, token, now):
        info = self.tokens.get(token) if token else None
        return bool(info) and not info["revoked"] and info["expires_at"] > now


def _wx(errcode, errmsg):
    # WeChat answers errors with HTTP 200 and a request id in errmsg.
    return jsonify(errcode=errcode, errmsg=f"{errmsg} rid: {secrets.token_hex(6)}")


def _ok(**fields):
    return jsonify(errcode=0, errmsg="ok", **fields)


def _bad_control(message):
    return jsonify(error=message), 400


def _in_window(window, now, limit):
    """Drop entries older than a minute; say whether another one still fits under the limit."""
    while window and window[0] <= now - 60:
        window.popleft()
    return len(window) < limit


def create_app(appid="wx-demo-appid", secret="demo-app-secret"):
    """Create the fake WeChat/WeCom server for one appid and secret."""
    app = Flask(__name__)
    app.json.ensure_ascii = False
    state = FakeState(appid, secret)
    app.extensions["fakewechat"] = state

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
        body = request.get_json(silent=True, force=True)
        return body if isinstance(body, dict) else None

    @app.before_request
    def count_and_inject_faults():
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

    @app.errorhandler(404)
    def unknown_path(_error):
        return _wx(40066, "invalid url")

    @app.errorhandler(405)
    def wrong_method(_error):
        return _wx(43002 if request.method == "GET" else 43001,
                   "require POST method" if request.method == "GET" else "require GET method")

    # ---- WeChat: login -------------------------------------------------------------------------------
    @app.get("/sns/jscode2session")
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
    @app.post("/cgi-bin/stable_token")
    def stable_token():
        body = json_body()
        if body is None:
            return _wx(47001, "data format error")
        if body.get("grant_type") != "client_credential":
            return _wx(40002, "invalid grant_type")
        if body.get("appid") != state.appid:
            return _wx(40013, "invalid appid")
        if body.get("secret") != state.secret:
            return _wx(40125, "invalid appsecret")
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

    @app.get("/cgi-bin/token")
    def legacy_token():
        args = request.args
        if args.get("grant_type") != "client_credential":
            return _wx(40002, "invalid grant_type")
        if args.get("appid") != state.appid:
            return _wx(40013, "invalid appid")
        if args.get("secret") != state.secret:
            return _wx(40125, "invalid appsecret")
        with state.lock:
            now = state.now()
            previous = state.tokens.get(state.legacy_token)
            if previous:
                previous["expires_at"] = min(previous["expires_at"], now + TOKEN_OVERLAP)
            state.legacy_token = state.new_token(now)
            token = state.legacy_token
        return jsonify(access_token=token, expires_in=TOKEN_TTL)

    # ---- WeChat: phone number ------------------------------------------------------------------------
    @app.post("/wxa/business/getuserphonenumber")
    def get_user_phone_number():
        failure = check_token()
        if failure:
            return failure
        body = json_body()
        if body is None:
            return _wx(47001, "data format error")
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
    @app.post("/cgi-bin/message/subscribe/send")
    def subscribe_send():
        failure = check_token()
        if failure:
            return failure
        body = json_body()
        if body is None:
            return _wx(47001, "data format error")
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
            state.messages.append({
                "msgid": msgid, "touser": openid, "template_id": body["template_id"], "page": page,
                "data": {k: v["value"] for k, v in body["data"].items()},
                "miniprogram_state": body.get("miniprogram_state", "formal"), "lang": body.get("lang", "zh_CN"),
                "at": state.now(),
            })
        return _ok(msgid=msgid)

    # ---- WeCom group robot ---------------------------------------------------------------------------
    @app.post("/cgi-bin/webhook/send")
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

    # ---- control endpoints ---------------------------------------------------------------------------
    @app.post("/_fake/login-codes")
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

    @app.post("/_fake/phone-codes")
    def issue_phone_code():
        phone = str((json_body() or {}).get("phone") or "")
        if not phone.isdigit():
            return _bad_control("phone must be digits, e.g. 13800000001")
        code = "pc_" + secrets.token_urlsafe(16)
        with state.lock:
            state.phone_codes[code] = {"phone": phone, "issued": state.now(), "used": False}
        return jsonify(code=code)

    @app.route("/_fake/templates", methods=["GET", "POST"])
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

    @app.route("/_fake/consents", methods=["GET", "POST"])
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

    @app.post("/_fake/consents/bulk")
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

    @app.get("/_fake/messages/summary")
    def message_summary():
        # Counts only: a benchmark checks 100,000 deliveries without downloading them.
        with state.lock:
            rows = [m for m in state.messages if request.args.get("template_id") in (None, m["template_id"])]
            pairs = {(m["touser"], m["template_id"]) for m in rows}
            first = min((m["at"] for m in rows), default=None)
            last = max((m["at"] for m in rows), default=None)
        return jsonify(total=len(rows), distinct=len(pairs), first_at=first, last_at=last)

    @app.post("/_fake/webhooks")
    def add_webhook():
        robot = (json_body() or {}).get("key")
        if not robot:
            return _bad_control("key is required")
        with state.lock:
            state.webhook_keys.add(robot)
        return jsonify(key=robot)

    @app.post("/_fake/high-risk")
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

    @app.post("/_fake/faults")
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

    @app.post("/_fake/expire-token")
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

    @app.post("/_fake/clock")
    def travel():
        advance = (json_body() or {}).get("advance", 0)
        if not isinstance(advance, (int, float)) or advance < 0:
            return _bad_control("advance must be a non-negative number of seconds")
        with state.lock:
            state.offset += advance
            now = state.now()
        return jsonify(now=now, offset=state.offset)

    @app.get("/_fake/messages")
    def list_messages():
        with state.lock:
            rows = [m for m in state.messages
                    if request.args.get("touser") in (None, m["touser"])
                    and request.args.get("template_id") in (None, m["template_id"])]
        return jsonify(messages=rows)

    @app.get("/_fake/webhook-messages")
    def list_webhook_messages():
        with state.lock:
            rows = [m for m in state.webhook_messages if request.args.get("key") in (None, m["key"])]
        return jsonify(messages=rows)

    @app.get("/_fake/calls")
    def list_calls():
        with state.lock:
            counts = dict(state.calls)
        return jsonify(counts=counts, total=sum(counts.values()))

    @app.post("/_fake/reset")
    def reset():
        with state.lock:
            state.reset()
        return jsonify(reset=True)

    return app


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


class RequestHandler(WSGIRequestHandler):
    """Log method, path and status only: query strings carry secrets, access tokens and robot keys."""

    def log_request(self, code="-", size="-"):
        logging.getLogger("fakewechat").info("%s %s %s", self.command, self.path.split("?", 1)[0], code)
