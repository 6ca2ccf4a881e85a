"""Run the fake: python -m fakewechat --host 127.0.0.1 --port 5001 --appid wx-demo-appid --secret demo-app-secret.

Point the app at it with WECHAT_API_BASE=http://127.0.0.1:5001 and WECOM_API_BASE=http://127.0.0.1:5001.
For local logins the fake accepts js_code "dev:<openid>" and phone code "dev-phone:<digits>"
(a convenience of the fake only; real WeChat never does).
"""
import argparse
import logging

from werkzeug.serving import run_simple

from fakewechat.app import RequestHandler, create_app


def main(argv=None):
    """Parse the command line and serve the fake until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m fakewechat", description="Fake WeChat + WeCom server APIs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--appid", default="wx-demo-appid")
    parser.add_argument("--secret", default="demo-app-secret")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(appid=args.appid, secret=args.secret)
    run_simple(args.host, args.port, app, threaded=True, request_handler=RequestHandler)


if __name__ == "__main__":
    main()
