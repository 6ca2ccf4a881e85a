"""core.wechat against the fake WeChat server, plus the pure value-fitting helpers."""
import json
import logging
import threading
import time
from datetime import date, datetime, timezone
from unittest import mock

import pytest
import requests
import urllib3
from flask import Flask

from core import cache, wechat
from core.cache import get_redis, key
from core.wechat import WeChatError, WeChatUnavailable, fit_template_value, fit_wecom_markdown
from fakewechat import DEFAULT_TEMPLATES, valid_template_value
from tests.fakes import FakeWeChat

APPID, SECRET = "wx-client-test-appid", "client-test-secret-9f3a"
TEMPLATE = "tmpl-quiz-open"
SUBSCRIBE = "/cgi-bin/message/subscribe/send"
STABLE_TOKEN = "/cgi-bin/stable_token"
ROBOT_KEY = "robot-key-7c1e"
QUIZ_DATA = {"thing1": "第48周学习测验", "time2": "2026年11月29日 20:00", "thing3": "请在截止前完成"}


# ---- pure helpers --------------------------------------------------------------------------------------

@pytest.mark.parametrize("key_type, value, expected", [
    ("thing", "学习二十大精神", "学习二十大精神"),
    ("thing", "一" * 25, "一" * 19 + "…"),
    ("thing", "第一行\n第二行  结尾", "第一行 第二行 结尾"),
    ("phrase", "已完成", "已完成"),
    ("phrase", "合格 pass", "合格"),
    ("phrase", "非常非常优秀啊", "非常非常优"),
    ("name", "张三", "张三"),
    ("name", "欧阳" + "娜" * 10, "欧阳" + "娜" * 8),
    ("name", "Alexander Maximilian Smith", "Alexander Maximilian"),
    ("number", 86, "86"),
    ("number", 86.5, "86.5"),
    ("number", "共 12 题", "12"),
    ("number", "9" * 40, "9" * 32),
    ("character_string", "2026-W48 第一期", "2026-W48"),
    ("character_string", "a" * 40, "a" * 32),
    ("letter", "ABC-123 def", "ABCdef"),
    ("symbol", "+-*/%&", "+-*/%"),
    ("time", datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc), "2026年11月23日 08:00"),
    ("date", datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc), "2026年11月23日 08:00"),
    ("date", date(2026, 11, 23), "2026年11月23日"),
    ("time", date(2026, 11, 23), "2026年11月23日 00:00"),
])
def test_fit_template_value_cuts_to_wechat_limits_and_the_fake_accepts_it(key_type, value, expected):
    fitted = fit_template_value(key_type, value)
    assert fitted == expected
    assert valid_template_value(key_type, fitted)


def test_fit_template_value_rejects_unknown_types_and_naive_datetimes():
    with pytest.raises(ValueError):
        fit_template_value("thingy", "x")
    with pytest.raises(ValueError):
        fit_template_value("time", datetime(2026, 11, 23, 8, 0))


@pytest.mark.parametrize("text, limit", [
    ("短消息", 4096),
    ("中" * 2000, 4096),
    ("a" * 4095 + "中文", 4096),
    ("**标题**\n" + "内容" * 800, 2048),
])
def test_fit_wecom_markdown_stays_within_bytes_on_a_character_boundary(text, limit):
    fitted = fit_wecom_markdown(text, limit)
    assert len(fitted.encode("utf-8")) <= limit
    if len(text.encode("utf-8")) <= limit:
        assert fitted == text
    else:
        assert fitted.endswith("…") and text.startswith(fitted[:-1])


# ---- client against the fake ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wx_fake():
    fake = FakeWeChat(appid=APPID, secret=SECRET)
    yield fake
    fake.stop()


@pytest.fixture
def wx_app(wx_fake):
    """A bare Flask app wired to the fake and a fresh fakeredis; the client needs nothing more."""
    wx_fake.reset()
    app = Flask(__name__)
    app.config.update(WECHAT_APPID=APPID, WECHAT_SECRET=SECRET, WECHAT_API_BASE=wx_fake.base_url,
                      WECOM_API_BASE=wx_fake.base_url, WECHAT_TIMEOUT=2, MINIPROGRAM_STATE="developer")
    cache.init_app(app)
    with app.app_context():
        yield app


def _errcode(call, *args, **kwargs):
    with pytest.raises(WeChatError) as info:
        call(*args, **kwargs)
    return info.value


def test_login_returns_openid_and_unionid(wx_app, wx_fake):
    session = wechat.code2session(wx_fake.login_code("o-alice", unionid="u-alice"))
    assert session["openid"] == "o-alice"
    assert session["unionid"] == "u-alice"
    assert session["session_key"]
    assert "errcode" not in session


def test_login_code_is_single_use(wx_app, wx_fake):
    code = wx_fake.login_code("o-alice")
    wechat.code2session(code)
    assert _errcode(wechat.code2session, code).errcode == 40163


def test_login_code_expires_after_five_minutes(wx_app, wx_fake):
    fresh, stale = wx_fake.login_code("o-alice"), wx_fake.login_code("o-bob")
    wx_fake.advance(290)
    assert wechat.code2session(fresh)["openid"] == "o-alice"
    wx_fake.advance(20)
    assert _errcode(wechat.code2session, stale).errcode == 40029


def test_login_refuses_wrong_credentials_unknown_codes_and_high_risk_users(wx_app, wx_fake):
    assert _errcode(wechat.code2session, "no-such-code").errcode == 40029
    wx_fake.set_high_risk("o-mallory")
    assert _errcode(wechat.code2session, wx_fake.login_code("o-mallory")).errcode == 40226
    wx_app.config["WECHAT_SECRET"] = "wrong-secret"
    assert _errcode(wechat.code2session, wx_fake.login_code("o-alice")).errcode == 40125
    wx_app.config["WECHAT_APPID"] = "wx-wrong"
    assert _errcode(wechat.code2session, wx_fake.login_code("o-alice")).errcode == 40013


def test_login_is_limited_to_100_calls_a_minute_per_user(wx_app, wx_fake):
    for _ in range(100):
        wechat.code2session("dev:o-busy")
    assert _errcode(wechat.code2session, "dev:o-busy").errcode == 45011
    assert wechat.code2session("dev:o-other")["openid"] == "o-other"
    wx_fake.advance(61)
    assert wechat.code2session("dev:o-busy")["openid"] == "o-busy"


def test_unknown_path_answers_40066_with_http_200(wx_app, wx_fake):
    resp = requests.get(wx_fake.base_url + "/sns/jsCode2Session", timeout=5)
    assert resp.status_code == 200 and resp.json()["errcode"] == 40066
    wx_app.config["WECHAT_API_BASE"] = wx_fake.base_url + "/wrong-prefix"
    error = _errcode(wechat.code2session, wx_fake.login_code("o-alice"))
    assert error.errcode == 40066 and not isinstance(error, WeChatUnavailable)


def test_phone_number_returns_phone_info_and_code_is_single_use(wx_app, wx_fake):
    code = wx_fake.phone_code("13800000001")
    info = wechat.phone_number(code)
    assert info["purePhoneNumber"] == "13800000001"
    assert info["countryCode"] == "86"
    assert info["watermark"]["appid"] == APPID
    assert _errcode(wechat.phone_number, code).errcode == 40029


def test_access_token_is_cached_and_fetched_once_across_calls(wx_app, wx_fake):
    token = wechat.access_token()
    wechat.phone_number(wx_fake.phone_code("13800000001"))
    wechat.phone_number("dev-phone:13800000002")
    assert wechat.access_token() == token
    assert wx_fake.calls(STABLE_TOKEN) == 1
    stored = json.loads(get_redis().get(key("wechat", "access_token")))
    assert stored["token"] == token and stored["expires_at"] > time.time() + 7000


def test_concurrent_threads_fetch_the_token_only_once(wx_app, wx_fake):
    wx_fake.fault(STABLE_TOKEN, delay=0.3)  # slow WeChat, so every thread arrives while the first is fetching
    tokens, errors = [], []

    def worker():
        with wx_app.app_context():
            try:
                tokens.append(wechat.access_token())
            except Exception as exc:  # surfaced by the assertion below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert not errors
    assert len(tokens) == 8 and len(set(tokens)) == 1
    assert wx_fake.calls(STABLE_TOKEN) == 1


def test_token_is_renewed_when_less_than_five_minutes_are_left(wx_app, wx_fake, monkeypatch):
    old = wechat.access_token()
    wx_fake.advance(7000)
    later = time.time() + 7000  # 200 s left: inside the margin, for the process's copy and the shared entry alike
    monkeypatch.setattr(wechat.time, "time", lambda: later)
    new = wechat.access_token()
    assert new != old
    assert wx_fake.calls(STABLE_TOKEN) == 2


def test_a_process_reads_the_shared_token_once_a_minute_not_once_a_call(wx_app, wx_fake, monkeypatch):
    wx_fake.grant_consent("o-alice", TEMPLATE, count=3)
    token = wechat.access_token()
    reads = []
    real_get = get_redis().get
    monkeypatch.setattr(get_redis(), "get", lambda name: reads.append(name) or real_get(name))
    for _ in range(3):
        wechat.send_subscribe("o-alice", TEMPLATE, QUIZ_DATA)
    assert key("wechat", "access_token") not in reads
    # A peer fetched a new token (stable_token in normal mode: the old one stays valid): after the recheck
    # interval this process takes the shared one, with no call refused on the way.
    peer = {"token": "peer-token", "expires_at": time.time() + 7200}
    get_redis().set(key("wechat", "access_token"), json.dumps(peer))
    assert wechat.access_token() == token
    later = time.time() + wechat.TOKEN_RECHECK_SECONDS + 1
    monkeypatch.setattr(wechat.time, "time", lambda: later)
    assert wechat.access_token() == "peer-token"
    assert reads.count(key("wechat", "access_token")) == 1


def test_environment_proxies_are_looked_up_once_per_host_and_honoured(monkeypatch):
    wechat._pool_for.cache_clear()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    try:
        proxied = wechat._pool_for("https://api.weixin.qq.com")
        assert isinstance(proxied, urllib3.ProxyManager) and proxied.proxy.host == "proxy.example"
        assert wechat._pool_for("http://127.0.0.1:5001") is wechat._direct
        monkeypatch.setenv("HTTPS_PROXY", "http://other.example:3128")  # read once: the process keeps its answer
        assert wechat._pool_for("https://api.weixin.qq.com") is proxied
    finally:
        wechat._pool_for.cache_clear()
@pytest.mark.parametrize("mode", ["expired", "invalid"])
def test_rejected_token_is_refreshed_once_then_the_call_succeeds(wx_app, wx_fake, mode):
    wx_fake.grant_consent("o-alice", TEMPLATE)
    old = wechat.access_token()
    wx_fake.expire_token(mode)
    result = wechat.send_subscribe("o-alice", TEMPLATE, QUIZ_DATA, page="pages/quiz/index?id=3")
    assert result["errcode"] == 0 and result["msgid"]
    assert wechat.access_token() != old
    assert wx_fake.calls(STABLE_TOKEN) == 2
    assert wx_fake.calls(SUBSCRIBE) == 2
    assert len(wx_fake.messages(touser="o-alice")) == 1


def test_errcode_40014_also_triggers_one_refresh(wx_app, wx_fake):
    wx_fake.fault("/wxa/business/getuserphonenumber", errcode=40014)
    assert wechat.phone_number("dev-phone:13800000003")["purePhoneNumber"] == "13800000003"
    assert wx_fake.calls(STABLE_TOKEN) == 2


def _stable_token_modes(spy):
    """force_refresh of each stable_token request the client sent, in order."""
    return [call.kwargs["payload"]["force_refresh"] for call in spy.call_args_list
            if call.args[1].endswith(STABLE_TOKEN)]


@pytest.mark.parametrize("mode", ["expired", "invalid"])
def test_a_rejected_token_is_replaced_in_normal_mode_without_forcing(wx_app, wx_fake, mode):
    wx_fake.grant_consent("o-alice", TEMPLATE)
    wechat.access_token()
    wx_fake.expire_token(mode)
    with mock.patch.object(wechat, "_request", wraps=wechat._request) as spy:
        assert wechat.send_subscribe("o-alice", TEMPLATE, QUIZ_DATA)["errcode"] == 0
    # Normal mode already answers a fresh token: no forced refresh spent, no other holder's token killed.
    assert _stable_token_modes(spy) == [False]


def test_a_refresh_is_forced_only_when_the_normal_answer_is_still_rejected(wx_app, wx_fake):
    wx_fake.grant_consent("o-alice", TEMPLATE)
    old = wechat.access_token()
    wx_fake.fault(SUBSCRIBE, errcode=40001, times=2)  # WeChat keeps refusing what normal mode answers
    with mock.patch.object(wechat, "_request", wraps=wechat._request) as spy:
        assert wechat.send_subscribe("o-alice", TEMPLATE, QUIZ_DATA)["errcode"] == 0
    assert _stable_token_modes(spy) == [False, True]
    assert wechat.access_token() != old
    assert wx_fake.calls(SUBSCRIBE) == 3 and len(wx_fake.messages(touser="o-alice")) == 1


def test_a_token_still_rejected_after_a_forced_refresh_is_raised_not_retried_again(wx_app, wx_fake):
    wx_fake.grant_consent("o-alice", TEMPLATE)
    wx_fake.fault(SUBSCRIBE, errcode=40001, times=4)
    assert _errcode(wechat.send_subscribe, "o-alice", TEMPLATE, QUIZ_DATA).errcode == 40001
    assert wx_fake.calls(SUBSCRIBE) == 3
    assert wx_fake.calls(STABLE_TOKEN) == 3  # the first fetch, one normal, one forced


def test_send_spends_one_consent_per_message_then_43101_without_retry(wx_app, wx_fake):
    assert wx_fake.grant_consent("o-alice", TEMPLATE, count=2) == 2
    wechat.send_subscribe("o-alice", TEMPLATE, QUIZ_DATA)
    wechat.send_subscribe("o-alice", TEMPLATE, {k: {"value": v} for k, v in QUIZ_DATA.items()})
    assert _errcode(wechat.send_subscribe, "o-alice", TEMPLATE, QUIZ_DATA).errcode == 43101
    assert wx_fake.calls(SUBSCRIBE) == 3
    sent = wx_fake.messages(touser="o-alice")
    assert [m["data"]["thing1"] for m in sent] == ["第48周学习测验"] * 2
    assert sent[0]["miniprogram_state"] == "developer"


def test_invalid_data_raises_47003_naming_the_field_without_retry(wx_app, wx_fake):
    wx_fake.grant_consent("o-alice", TEMPLATE)
    error = _errcode(wechat.send_subscribe, "o-alice", TEMPLATE, dict(QUIZ_DATA, thing3="超" * 21))
    assert error.errcode == 47003 and "thing3" in error.errmsg
    assert wx_fake.calls(SUBSCRIBE) == 1
    assert wx_fake.consents() == [{"openid": "o-alice", "template_id": TEMPLATE, "remaining": 1}]


@pytest.mark.parametrize("openid, template_id, page, errcode", [
    ("o-stranger", TEMPLATE, None, 40003),
    ("o-alice", "tmpl-no-such", None, 40037),
    ("o-alice", TEMPLATE, "/pages/quiz index", 41030),
])
def test_send_refuses_unknown_openid_template_or_page(wx_app, wx_fake, openid, template_id, page, errcode):
    wx_fake.grant_consent("o-alice", TEMPLATE)
    assert _errcode(wechat.send_subscribe, openid, template_id, QUIZ_DATA, page=page).errcode == errcode


def test_default_templates_accept_fitted_values(wx_app, wx_fake):
    keys = DEFAULT_TEMPLATES["tmpl-quiz-result"]
    raw = {"thing1": "二〇二六年第四十八周理论学习测验（支部）", "number2": 92.5,
        "phrase3": "合格", "thing4": "继续保持"}
    wx_fake.grant_consent("o-alice", "tmpl-quiz-result")
    wechat.send_subscribe("o-alice", "tmpl-quiz-result", {k: fit_template_value(keys[k], v) for k, v in raw.items()})
    assert wx_fake.messages()[0]["data"]["number2"] == "92.5"


def test_timeout_raises_unavailable(wx_app, wx_fake):
    wx_app.config["WECHAT_TIMEOUT"] = 0.3
    wx_fake.grant_consent("o-alice", TEMPLATE)
    wechat.access_token()
    wx_fake.fault(SUBSCRIBE, delay=1.0)
    started = time.monotonic()
    error = _errcode(wechat.send_subscribe, "o-alice", TEMPLATE, QUIZ_DATA)
    assert isinstance(error, WeChatUnavailable)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("fault", [{"http_status": 500}, {"http_status": 502, "errcode": 0}, {"errcode": -1}])
def test_server_errors_and_busy_raise_unavailable(wx_app, wx_fake, fault):
    wx_fake.fault("/sns/jscode2session", **fault)
    assert isinstance(_errcode(wechat.code2session, wx_fake.login_code("o-alice")), WeChatUnavailable)


def test_connection_refused_raises_unavailable(wx_app):
    wx_app.config["WECHAT_API_BASE"] = "http://127.0.0.1:9"
    error = _errcode(wechat.code2session, "dev:o-alice")
    assert isinstance(error, WeChatUnavailable) and error.errcode is None


def test_wecom_robot_allows_20_messages_a_minute(wx_app, wx_fake):
    wx_fake.add_webhook(ROBOT_KEY)
    text = {"msgtype": "text", "text": {"content": "本周测验已开放", "mentioned_list": ["@all"]}}
    for _ in range(20):
        assert wechat.wecom_send(ROBOT_KEY, text) == {"errcode": 0, "errmsg": "ok"}
    error = _errcode(wechat.wecom_send, ROBOT_KEY, text)
    assert error.errcode == 130101
    wx_fake.advance(60)
    wechat.wecom_send(ROBOT_KEY, text)
    assert len(wx_fake.webhook_messages(key=ROBOT_KEY)) == 21


def test_wecom_refuses_unknown_keys_and_oversized_markdown(wx_app, wx_fake):
    long_markdown = "## 本周参学率\n" + "支部学习情况良好。" * 500
    assert _errcode(wechat.wecom_send, "unknown-key", {"msgtype": "text", "text": {"content": "x"}}).errcode == 93000
    oversized = {"msgtype": "markdown", "markdown": {"content": long_markdown}}
    assert _errcode(wechat.wecom_send, "demo-webhook-key", oversized).errcode == 40058
    fitted = {"msgtype": "markdown", "markdown": {"content": fit_wecom_markdown(long_markdown)}}
    assert wechat.wecom_send("demo-webhook-key", fitted)["errcode"] == 0


def test_secrets_never_appear_in_logs_or_errors(wx_app, wx_fake, caplog):
    caplog.set_level(logging.DEBUG)
    wx_fake.add_webhook(ROBOT_KEY)
    wx_fake.grant_consent("o-alice", TEMPLATE)
    session = wechat.code2session(wx_fake.login_code("o-alice"))
    token = wechat.access_token()
    wechat.send_subscribe("o-alice", TEMPLATE, QUIZ_DATA)
    wechat.wecom_send(ROBOT_KEY, {"msgtype": "text", "text": {"content": "hi"}})
    errors = []
    wx_fake.fault(SUBSCRIBE, errcode=40001, times=3)  # the first call, after a normal and a forced refresh
    wx_fake.fault(SUBSCRIBE, http_status=500)
    for _ in range(2):
        errors.append(_errcode(wechat.send_subscribe, "o-alice", TEMPLATE, QUIZ_DATA))
    wx_app.config["WECHAT_TIMEOUT"] = 0.2
    wx_fake.fault("/sns/jscode2session", delay=0.6)
    errors.append(_errcode(wechat.code2session, "dev:o-alice"))
    wx_fake.fault("/cgi-bin/webhook/send", delay=0.6)
    errors.append(_errcode(wechat.wecom_send, ROBOT_KEY, {"msgtype": "text", "text": {"content": "hi"}}))
    new_token = wechat.access_token()

    assert "urllib3.connectionpool" in caplog.text  # the URL-printing logger really ran
    assert [type(e) for e in errors] == [WeChatError, WeChatUnavailable, WeChatUnavailable, WeChatUnavailable]
    texts = [caplog.text] + [f"{e!s} {e.errmsg} {e.__cause__!r}" for e in errors]
    for secret in (SECRET, session["session_key"], token, new_token, ROBOT_KEY):
        assert all(secret not in text for text in texts)
    assert all(e.__suppress_context__ for e in errors[2:])
