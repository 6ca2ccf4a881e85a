"""The WeChat and WeCom client: login, phone numbers, the shared access token, subscribe messages, robots.

Works against real WeChat or the local fake (fakewechat) by changing WECHAT_API_BASE / WECOM_API_BASE only.
Secrets (appsecret, session_key, access_token, robot keys) never go into log lines or exception messages.
"""
import functools
import json
import logging
import os
import re
import time
from datetime import date, datetime
from datetime import time as dtime
from urllib.parse import urlencode

import certifi
import requests
import urllib3
from flask import current_app

from core.cache import get_redis, key
from core.clock import TZ, format_cn
from core.metrics import WECHAT_CALLS

log = logging.getLogger(__name__)

TOKEN_ERRCODES = frozenset({40001, 42001, 40014})   # "get a new access token"
TOKEN_REFRESH_MARGIN = 300                          # refresh when less than 5 minutes are left
_SECRET_PARAMS = re.compile(r"((?:secret|access_token|key|js_code)=)[^&\s\"']+")

TOKEN_RECHECK_SECONDS = 60                          # a process re-reads the shared token at least this often

# urllib3 (what requests is built on) directly, with one pool per process and route: WeChat calls are frequent, TLS
# handshakes are not free, and requests' per-call bookkeeping (environment lookups, cookies, hooks) was most of a
# sender's CPU in #19's profile. Proxies and the CA bundle come from the same variables requests reads, read once.
_CA_BUNDLE = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
_POOL_OPTIONS = {"num_pools": 4, "maxsize": 32, "ca_certs": _CA_BUNDLE}
_direct = urllib3.PoolManager(**_POOL_OPTIONS)


@functools.lru_cache(maxsize=32)
def _pool_for(origin):
    """The pool for a host (scheme://host:port): direct, or through the proxy that HTTPS_PROXY/HTTP_PROXY/ALL_PROXY
    and NO_PROXY give it, looked up once per process."""
    proxies = requests.utils.get_environ_proxies(origin)  # requests' own reading of those variables
    proxy = proxies.get(origin.split(":", 1)[0]) or proxies.get("all")
    return urllib3.ProxyManager(proxy, **_POOL_OPTIONS) if proxy else _direct


class _RedactQueryStrings(logging.Filter):
    """Blank secret query parameters in urllib3's DEBUG lines, which print full request URLs."""

    def filter(self, record):
        message = record.getMessage()
        redacted = _SECRET_PARAMS.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactQueryStrings())


class WeChatError(Exception):
    """WeChat answered with a non-zero errcode (or could not be reached: see WeChatUnavailable)."""

    def __init__(self, errcode, errmsg=""):
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")


class WeChatUnavailable(WeChatError):
    """WeChat is busy (errcode -1) or unreachable: timeout, connection error, HTTP 5xx. errcode is -1 or None."""


def code2session(js_code):
    """Exchange a wx.login code for {"openid", "session_key", "unionid"?}; the session_key stays server-side."""
    cfg = current_app.config
    body = _request("GET", cfg["WECHAT_API_BASE"] + "/sns/jscode2session", params={
        "appid": cfg["WECHAT_APPID"], "secret": cfg["WECHAT_SECRET"],
        "js_code": js_code, "grant_type": "authorization_code"})
    return {k: v for k, v in body.items() if k not in ("errcode", "errmsg")}


def phone_number(phone_code):
    """Exchange a getPhoneNumber code for WeChat's phone_info (phoneNumber, purePhoneNumber, countryCode...)."""
    return _call_with_token("/wxa/business/getuserphonenumber", {"code": phone_code})["phone_info"]


def access_token(force_refresh=False):
    """Return the app's access token: this process's copy, else the shared cache's, else fetched (one fetcher at a
    time). A copy is used for TOKEN_RECHECK_SECONDS at most and never within TOKEN_REFRESH_MARGIN of its expiry; a
    token a peer's forced refresh killed meanwhile is rejected by WeChat and replaced by _call_with_token."""
    if not force_refresh:
        held, now = _held().get("entry"), time.time()
        if held and now < held["checked_at"] + TOKEN_RECHECK_SECONDS \
                and now <= held["expires_at"] - TOKEN_REFRESH_MARGIN:
            return held["token"]
        cached = _cached_token()
        if cached:
            return cached
    return _refresh_token(force=force_refresh)


def send_subscribe(openid, template_id, data, page=None, state=None, lang="zh_CN"):
    """Send one subscribe message; data maps key → value or {"value": ...}. Returns WeChat's body (msgid)."""
    payload = {
        "touser": openid,
        "template_id": template_id,
        "data": {k: v if isinstance(v, dict) else {"value": str(v)} for k, v in data.items()},
        "miniprogram_state": state or current_app.config.get("MINIPROGRAM_STATE", "formal"),
        "lang": lang,
    }
    if page:
        payload["page"] = page
    return _call_with_token("/cgi-bin/message/subscribe/send", payload)


def wecom_send(webhook_key, payload):
    """Post one message (a text or markdown payload as WeCom defines it) to a group robot."""
    url = current_app.config["WECOM_API_BASE"] + "/cgi-bin/webhook/send"
    return _request("POST", url, params={"key": webhook_key}, payload=payload, hide=(webhook_key,))


# ---- the access token ------------------------------------------------------------------------------------

def _token_key():
    return key("wechat", "access_token")


def _held():
    """This process's copy of the app's token (per app: tests run several against different fakes)."""
    return current_app.extensions.setdefault("wechat_token", {})


def _hold(entry):
    _held()["entry"] = {**entry, "checked_at": time.time()}
    return entry["token"]


def _cached_token():
    raw = get_redis().get(_token_key())
    if not raw:
        return None
    entry = json.loads(raw)
    # Real time, not core.clock.now(): WeChat expires tokens by the wall clock even when tests freeze ours.
    if entry["expires_at"] - time.time() < TOKEN_REFRESH_MARGIN:
        return None
    return _hold(entry)


def _refresh_token(force=False, stale=None):
    """Fetch a token under the Redis lock; skip the fetch if another worker refreshed meanwhile."""
    lock = get_redis().lock(key("wechat", "token_lock"), timeout=10, blocking_timeout=10)
    if not lock.acquire():
        raise WeChatUnavailable(None, "timed out waiting for the access token lock")
    try:
        cached = _cached_token()
        # After a rejected token (stale), a different cached one means a peer already fetched a new one: use it.
        if cached and (cached != stale if stale is not None else not force):
            return cached
        cfg = current_app.config
        body = _request("POST", cfg["WECHAT_API_BASE"] + "/cgi-bin/stable_token", payload={
            "grant_type": "client_credential", "appid": cfg["WECHAT_APPID"], "secret": cfg["WECHAT_SECRET"],
            "force_refresh": bool(force)})
        token, expires_in = body["access_token"], int(body["expires_in"])
        entry = {"token": token, "expires_at": time.time() + expires_in}
        get_redis().set(_token_key(), json.dumps(entry), ex=max(expires_in, 1))
        log.info("wechat access token fetched force=%s expires_in=%s", bool(force), expires_in)
        return _hold(entry)
    finally:
        try:
            lock.release()
        except Exception:  # the lock expired while we waited on WeChat; nothing left to release
            pass


def _call_with_token(path, payload):
    """POST to a token-authenticated API; replace a rejected token as WeChat documents it, then retry.

    First stable_token in normal mode: it hands out a new token when the current one is near its end, and the
    current one otherwise (the one a peer's forced refresh made, say). Only if that answer is rejected too is a
    refresh forced: each spends one of 20 a day and invalidates every other holder's token at once.
    """
    url = current_app.config["WECHAT_API_BASE"] + path
    token = access_token()
    for force in (False, True):
        try:
            return _request("POST", url, params={"access_token": token}, payload=payload, hide=(token,))
        except WeChatUnavailable:
            raise
        except WeChatError as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
            log.warning("wechat rejected the access token path=%s errcode=%s; asking stable_token force=%s",
                        path, exc.errcode, force)
        token = _refresh_token(force=force, stale=token)
    return _request("POST", url, params={"access_token": token}, payload=payload, hide=(token,))


# ---- transport -------------------------------------------------------------------------------------------

def _request(method, url, params=None, payload=None, hide=()):
    """Send one request and return the JSON body; raise WeChatUnavailable or WeChatError. Counted by errcode."""
    path = url.split("://", 1)[-1].split("/", 1)[-1]
    try:
        body = _exchange(method, url, path, params, payload, hide)
    except WeChatUnavailable:
        WECHAT_CALLS.labels("/" + path, "unavailable").inc()
        raise
    except WeChatError as exc:
        WECHAT_CALLS.labels("/" + path, str(exc.errcode)).inc()
        raise
    WECHAT_CALLS.labels("/" + path, "0").inc()
    return body


def _exchange(method, url, path, params, payload, hide):
    data = headers = None
    if payload is not None:
        # Send UTF-8, not \u escapes: some WeChat APIs have shown escaped Chinese literally to users.
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
    started = time.perf_counter()
    target = url + ("?" + urlencode(params) if params else "")
    try:
        resp = _pool_for("/".join(url.split("/", 3)[:3])).request(  # scheme://host:port
            method, target, body=data, headers=headers, retries=False,
            timeout=urllib3.Timeout(total=current_app.config.get("WECHAT_TIMEOUT", 5)))
    # "from None": urllib3's exception texts hold the full URL, secrets included.
    except urllib3.exceptions.NewConnectionError:  # refused or unresolvable (a ConnectTimeoutError to urllib3)
        raise WeChatUnavailable(None, f"connection failed calling /{path}") from None
    except urllib3.exceptions.TimeoutError:
        raise WeChatUnavailable(None, f"timeout calling /{path}") from None
    except urllib3.exceptions.HTTPError as exc:
        raise WeChatUnavailable(None, f"{type(exc).__name__} calling /{path}") from None
    duration_ms = (time.perf_counter() - started) * 1000
    if resp.status >= 500:
        log.warning("wechat call path=/%s status=%s duration_ms=%.1f", path, resp.status, duration_ms)
        raise WeChatUnavailable(None, f"HTTP {resp.status} from /{path}")
    try:
        body = json.loads(resp.data)
    except ValueError:  # UnicodeDecodeError is one too
        error = WeChatUnavailable if resp.status == 200 else WeChatError  # a garbled 200 is a hiccup
        raise error(None, f"HTTP {resp.status} with a non-JSON body from /{path}") from None
    errcode = body.get("errcode", 0) if isinstance(body, dict) else None
    log.info("wechat call path=/%s status=%s errcode=%s duration_ms=%.1f",
             path, resp.status, errcode, duration_ms)
    if errcode is None:
        raise WeChatError(None, f"unexpected response shape from /{path}")
    if errcode == -1:
        raise WeChatUnavailable(-1, _redact(body.get("errmsg", "system busy"), hide))
    if errcode != 0:
        raise WeChatError(errcode, _redact(body.get("errmsg", ""), hide))
    if resp.status != 200:
        raise WeChatError(None, f"HTTP {resp.status} from /{path}")
    return body


def _redact(text, hide):
    for secret in hide:
        if secret:
            text = text.replace(secret, "***")
    return _SECRET_PARAMS.sub(r"\1***", text)


# ---- fitting values to WeChat's limits (pure) ------------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_NAME_LATIN = re.compile(r"[^A-Za-z .'\-]")


def fit_template_value(key_type, value):
    """Cut or normalise a value so WeChat accepts it for a template key of this type."""
    if key_type in ("time", "date"):
        return _fit_moment(key_type, value)
    if isinstance(value, float):
        value = f"{value:.2f}".rstrip("0").rstrip(".")
    text = " ".join(str(value).split())  # WeChat rejects newlines; runs of spaces waste the budget
    if key_type == "thing":
        return text if len(text) <= 20 else text[:19] + "…"
    if key_type == "phrase":
        return "".join(_CJK.findall(text))[:5]
    if key_type == "name":
        chinese = "".join(_CJK.findall(text))
        if chinese:
            return chinese[:10]
        return _NAME_LATIN.sub("", text).strip()[:20].strip()
    if key_type == "number":
        whole, _, fraction = text.partition(".")
        digits, fraction = re.sub(r"\D", "", whole), re.sub(r"\D", "", fraction)
        number = f"{digits or '0'}.{fraction}" if fraction else digits
        return number[:32].rstrip(".")
    if key_type == "character_string":
        return re.sub(r"[^\x21-\x7e]", "", text)[:32]
    if key_type == "letter":
        return re.sub(r"[^A-Za-z]", "", text)[:32]
    if key_type == "symbol":
        return text[:5]
    raise ValueError(f"unknown template key type {key_type!r}")


def _fit_moment(key_type, value):
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("template times need an aware datetime")
        return format_cn(value)
    if isinstance(value, date):
        if key_type == "date":
            return f"{value.year}年{value.month}月{value.day}日"
        return format_cn(datetime.combine(value, dtime.min, TZ))
    return " ".join(str(value).split())


def fit_wecom_markdown(text, limit=4096):
    """Cut text to WeCom's byte limit (4096 for markdown, pass 2048 for text) on a character boundary."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    marker = "…"
    room = limit - len(marker.encode("utf-8"))
    return encoded[:room].decode("utf-8", errors="ignore") + marker
