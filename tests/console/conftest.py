"""Console fixtures: desk accounts, and a browser-like client that logs in through the form with its CSRF token."""
import re

import pytest

from console import services

PASSWORD = "Correct-horse-42"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html):
    """The CSRF token a console page carries in its forms."""
    found = TOKEN_RE.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


class Desk:
    """A secretary's browser: a test client with the console cookie, posting forms with the page's token."""

    def __init__(self, client):
        self.client = client
        self.token = None

    @staticmethod
    def _fresh_g():
        # The `ctx` fixture keeps one app context open, which test requests reuse, so Flask-WTF's per-request
        # token cache in `g` would outlive a login; a real request always starts with an empty `g`.
        from flask import g, has_app_context

        if has_app_context():
            g.pop("csrf_token", None)

    def get(self, path, **kw):
        self._fresh_g()
        response = self.client.get(path, **kw)
        if response.status_code == 200 and response.mimetype == "text/html":
            found = TOKEN_RE.search(response.get_data(as_text=True))
            if found:
                self.token = found.group(1)
        return response

    def post(self, path, data=None, **kw):
        if self.token is None:
            self.get("/console/login")
        self._fresh_g()
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kw)

    def login(self, username, password=PASSWORD):
        self.get("/console/login")
        return self.post("/console/login", {"username": username, "password": password})


@pytest.fixture
def account(ctx):
    """Open a console account for a member (username = 'u<id>')."""

    def _account(member, username=None, password=PASSWORD):
        return services.set_password(None, member.phone, username or f"user{member.id}", password)

    return _account


@pytest.fixture
def desk(app, account):
    """A logged-in console client for a member."""

    def _desk(member):
        d = Desk(app.test_client())
        acct = account(member)
        response = d.login(acct.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        d.get("/console/", follow_redirects=True)  # a login starts a new session, with a new CSRF token
        return d

    return _desk
