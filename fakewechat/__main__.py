"""Run the fake: python -m fakewechat --host 127.0.0.1 --port 5001 --appid wx-demo-appid --secret demo-app-secret.

Point the app at it with WECHAT_API_BASE=http://127.0.0.1:5001 and WECOM_API_BASE=http://127.0.0.1:5001.
For local logins the fake accepts js_code "dev:<openid>" and phone code "dev-phone:<digits>"
(a convenience of the fake only; real WeChat never does). --consent OPENID:TEMPLATE_ID:COUNT starts the fake with a
user who has already allowed COUNT messages of a template (tapped 允许 in the mini-program), as `make run`'s demo has.
"""
import argparse
import logging

from gunicorn.app.base import BaseApplication

from fakewechat.app import create_app

# Like WeChat's own servers, the fake keeps a connection open for the next request (werkzeug's development server
# closes every one after its answer, so each of a sender's calls paid a new connection on both sides). One worker
# process, since the fake's state lives in its memory; threads answer the senders' concurrent calls. The access log
# names method, path and status only: query strings carry secrets, access tokens and robot keys.
SERVER_OPTIONS = {"workers": 1, "worker_class": "gthread", "threads": 16, "keepalive": 75, "graceful_timeout": 5,
                  "accesslog": "-", "access_log_format": "%(m)s %(U)s %(s)s", "loglevel": "info",
                  "control_socket_disable": True}


class Server(BaseApplication):
    """gunicorn serving the fake's app with SERVER_OPTIONS (and no command line of its own)."""

    def __init__(self, app, options):
        self.application, self.options = app, options
        super().__init__()

    def load_config(self):
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):
        return self.application


def consent(text):
    """OPENID:TEMPLATE_ID:COUNT -> (openid, template_id, count)."""
    openid, _, rest = text.partition(":")
    template_id, _, count = rest.rpartition(":")
    if not openid or not template_id or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected OPENID:TEMPLATE_ID:COUNT, got {text!r}")
    return openid, template_id, int(count)


def build(argv=None):
    """Parse the command line; return it and the fake's app, holding the --consent users."""
    parser = argparse.ArgumentParser(prog="python -m fakewechat", description="Fake WeChat + WeCom server APIs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--appid", default="wx-demo-appid")
    parser.add_argument("--secret", default="demo-app-secret")
    parser.add_argument("--consent", action="append", default=[], type=consent, metavar="OPENID:TEMPLATE_ID:COUNT",
                        help="a user known to WeChat who has allowed COUNT messages of a template (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(appid=args.appid, secret=args.secret)
    for openid, template_id, count in args.consent:
        app.extensions["fakewechat"].grant([openid], template_id, count)
    return args, app


def main(argv=None):
    """Serve the fake until interrupted."""
    args, app = build(argv)
    Server(app, {**SERVER_OPTIONS, "bind": f"{args.host}:{args.port}"}).run()


if __name__ == "__main__":
    main()
