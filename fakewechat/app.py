"""A local fake of the WeChat mini-program and WeCom robot server APIs: same URLs, JSON fields and errcodes.

State lives in memory behind one lock (fakewechat/state.py). Two blueprints answer: the WeChat and WeCom APIs
(fakewechat/wechat.py) and control endpoints under /_fake/ (fakewechat/control.py) that let tests and local
development issue login and phone codes, register templates, grant consents, inject faults and travel in time.
"""
import logging

from flask import Flask
from werkzeug.serving import WSGIRequestHandler

from fakewechat import control, wechat
from fakewechat.state import FakeState


def create_app(appid="wx-demo-appid", secret="demo-app-secret"):
    """Create the fake WeChat/WeCom server for one appid and secret."""
    app = Flask(__name__)
    app.json.ensure_ascii = False
    app.extensions["fakewechat"] = FakeState(appid, secret)
    app.register_blueprint(wechat.bp)
    app.register_blueprint(control.bp)
    return app


class RequestHandler(WSGIRequestHandler):
    """Log method, path and status only: query strings carry secrets, access tokens and robot keys."""

    def log_request(self, code="-", size="-"):
        logging.getLogger("fakewechat").info("%s %s %s", self.command, self.path.split("?", 1)[0], code)
