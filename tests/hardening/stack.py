"""The app served in a background thread, against the private services of bench.services (fault tests)."""
import logging
import threading

import requests
from werkzeug.serving import make_server


class Served:
    """The app on a free port in a background thread (threaded WSGI server), until stop()."""

    def __init__(self, app):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the app logs each request already
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def call(self, method, path, token=None, **kw):
        headers = {"Authorization": "Bearer " + token} if token else {}
        return requests.request(method, self.base + path, headers=headers, timeout=15, **kw)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
