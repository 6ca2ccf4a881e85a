"""FakeWeChat: the fake WeChat/WeCom server running in a background thread, with one method per control call."""
import threading

import requests
from werkzeug.serving import make_server

from fakewechat.app import RequestHandler, create_app


class FakeWeChat:
    """Serve fakewechat on 127.0.0.1 (a free port) until stop(); point WECHAT_API_BASE at .base_url."""

    def __init__(self, appid="wx-demo-appid", secret="demo-app-secret"):
        self.appid, self.secret = appid, secret
        self.app = create_app(appid=appid, secret=secret)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=RequestHandler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fakewechat", daemon=True)
        self._thread.start()
        self._http = requests.Session()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Shut the server down and wait for its thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._http.close()

    def _post(self, path, payload=None):
        resp = self._http.post(self.base_url + path, json=payload or {}, timeout=5)
        resp.raise_for_status()
        return resp.json()

    def _get(self, path, **params):
        resp = self._http.get(self.base_url + path, params={k: v for k, v in params.items() if v is not None},
                              timeout=5)
        resp.raise_for_status()
        return resp.json()

    def login_code(self, openid, unionid=None):
        """Issue a one-time wx.login code (valid 5 minutes) for an openid."""
        payload = {"openid": openid}
        if unionid:
            payload["unionid"] = unionid
        return self._post("/_fake/login-codes", payload)["code"]

    def phone_code(self, phone):
        """Issue a one-time getPhoneNumber code for a mainland number such as '13800000001'."""
        return self._post("/_fake/phone-codes", {"phone": phone})["code"]

    def add_template(self, template_id, keys):
        """Register a subscribe template with its key types, e.g. {'thing1': 'thing', 'time2': 'time'}."""
        return self._post("/_fake/templates", {"template_id": template_id, "keys": keys})

    def templates(self):
        """Return {template_id: {key: key_type}} of every registered template."""
        return self._get("/_fake/templates")["templates"]

    def grant_consent(self, openid, template_id, count=1):
        """Record `count` one-time consents of a member for a template; return how many are left."""
        return self._post("/_fake/consents", {"openid": openid, "template_id": template_id,
                                              "count": count})["remaining"]

    def consents(self):
        """Return [{'openid', 'template_id', 'remaining'}] for every pair that ever had a consent."""
        return self._get("/_fake/consents")["consents"]

    def add_webhook(self, key):
        """Register a WeCom robot key (the fake already knows 'demo-webhook-key')."""
        return self._post("/_fake/webhooks", {"key": key})

    def set_high_risk(self, openid, high_risk=True):
        """Make jscode2session refuse this openid with 40226 (or stop doing so)."""
        return self._post("/_fake/high-risk", {"openid": openid, "high_risk": high_risk})

    def fault(self, path, errcode=None, http_status=None, delay=0, times=1):
        """Make the next `times` calls of path wait `delay` s, then answer errcode and/or an HTTP status."""
        return self._post("/_fake/faults", {"path": path, "errcode": errcode, "http_status": http_status,
                                            "delay": delay, "times": times})

    def expire_token(self, mode="expired"):
        """Expire (42001) or invalidate (40001) every access token issued so far."""
        return self._post("/_fake/expire-token", {"mode": mode})

    def advance(self, seconds):
        """Move the fake's clock forward (code expiry, token expiry, rate-limit windows)."""
        return self._post("/_fake/clock", {"advance": seconds})

    def messages(self, touser=None, template_id=None):
        """Return the subscribe messages delivered, oldest first, optionally filtered."""
        return self._get("/_fake/messages", touser=touser, template_id=template_id)["messages"]

    def webhook_messages(self, key=None):
        """Return the robot messages delivered, oldest first, optionally for one key."""
        return self._get("/_fake/webhook-messages", key=key)["messages"]

    def calls(self, path=None):
        """Return {path: count} of API calls since the last reset, or one path's count."""
        counts = self._get("/_fake/calls")["counts"]
        return counts.get(path, 0) if path is not None else counts

    def reset(self):
        """Forget everything: codes, tokens, consents, messages, faults, counts and clock offset."""
        return self._post("/_fake/reset")
