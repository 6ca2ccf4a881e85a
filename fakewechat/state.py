"""What the fake WeChat/WeCom server remembers: its limits, templates and in-memory state behind one lock."""
import re
import secrets
import threading
import time
from collections import defaultdict, deque

from flask import current_app
from werkzeug.local import LocalProxy

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
        self.tallies = {}              # template_id (None: all) -> {"total", "pairs", "first_at", "last_at"}
        self.webhook_keys = set(DEFAULT_WEBHOOK_KEYS)
        self.webhook_windows = defaultdict(deque)
        self.webhook_messages = []
        self.faults = defaultdict(deque)
        self.calls = defaultdict(int)
        self.next_msgid = 1000

    def record_message(self, message):
        """Keep a sent subscribe message, and its template's and the overall tallies (callers hold .lock): the
        summary a benchmark polls while 100,000 arrive is read from them, never by walking the list."""
        self.messages.append(message)
        for template_id in (None, message["template_id"]):
            tally = self.tallies.setdefault(template_id, {"total": 0, "pairs": set(), "first_at": None,
                                                          "last_at": None})
            tally["total"] += 1
            tally["pairs"].add((message["touser"], message["template_id"]))
            tally["first_at"] = message["at"] if tally["first_at"] is None else min(tally["first_at"], message["at"])
            tally["last_at"] = message["at"] if tally["last_at"] is None else max(tally["last_at"], message["at"])

    def now(self):
        return time.time() + self.offset

    def new_token(self, now):
        token = TOKEN_PREFIX + secrets.token_urlsafe(48)
        self.tokens[token] = {"expires_at": now + TOKEN_TTL, "revoked": False}
        return token

    def token_live(self, token, now):
        info = self.tokens.get(token) if token else None
        return bool(info) and not info["revoked"] and info["expires_at"] > now


# The FakeState of the app answering the current request (create_app keeps it in app.extensions).
state = LocalProxy(lambda: current_app.extensions["fakewechat"])
