"""Fixtures for the hardening suite: the seven identities with real session tokens."""
import os

import pytest

from core.extensions import db
from members.auth import issue_token

IDENTITIES = ("anonymous", "member_a", "member_b", "secretary_a", "secretary_b", "admin_a", "admin_b")


@pytest.fixture
def headers_for(org):
    """Authorization headers of one identity of the standard cast ('anonymous' → none)."""
    cache = {}

    def _headers(identity, fresh=False):
        if identity == "anonymous":
            return {}
        if fresh or identity not in cache:
            token, _ = issue_token(getattr(org, identity))
            db.session.commit()
            cache[identity] = {"Authorization": "Bearer " + token}
        return cache[identity]

    return _headers


# Strings that must never appear in a response body or a log line.
def secret_values(app):
    """Every configured secret the app holds, as strings worth scanning for."""
    values = [app.config.get("SECRET_KEY"), app.config.get("WECHAT_SECRET")]
    return [v for v in values if v]


def pytest_configure(config):
    config.addinivalue_line("markers", "soak: faults and soak on a private PostgreSQL + Redis (make soak; SOAK=1)")


def pytest_collection_modifyitems(config, items):
    """Leave the soak and fault tests to `make soak` (SOAK=1): they start servers and run for minutes."""
    if os.environ.get("SOAK") == "1":
        return
    skip = pytest.mark.skip(reason="soak/fault test: run with `make soak` (SOAK=1)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
