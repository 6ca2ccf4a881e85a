"""Responses are encoded by orjson (core.jsonprovider), byte for byte as Flask's own provider would encode them."""
import uuid
from collections import namedtuple
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from flask.json.provider import DefaultJSONProvider

Pair = namedtuple("Pair", "a b")


@dataclass
class Point:
    x: int
    label: str


VALUES = [
    {"id": 7, "stem": "党支部\n\"书记\"\t\\", "at": datetime(2026, 12, 1, 3, 4, 5, 678, tzinfo=timezone.utc),
     "day": date(2026, 1, 2), "points": Decimal("1.50"), "uid": uuid.UUID(int=5), "pair": Pair(1, [2, 3]),
     "tuple": (1, "二"), 3: "an int key", "share": 0.1, "big": 1.5e16, "none": None, "ok": True, "nested": [1, {}]},
    [Point(1, "一"), "x", None],
    "字符串",
    10**30,  # past 64 bits: Flask's provider writes it
    [],
]


@pytest.fixture()
def flask_provider(app):
    provider = DefaultJSONProvider(app)
    provider.ensure_ascii, provider.sort_keys = False, False  # as core.app had set Flask's own
    return provider


@pytest.mark.parametrize("value", VALUES)
def test_a_response_is_byte_for_byte_what_flasks_provider_writes(app, flask_provider, value):
    with app.test_request_context():
        ours, theirs = app.json.response(value), flask_provider.response(value)
    assert ours.get_data() == theirs.get_data()
    assert ours.mimetype == theirs.mimetype == "application/json"


def test_keyword_arguments_are_an_object_as_in_flask(app, flask_provider):
    with app.test_request_context():
        assert app.json.response(a=1, b="二").get_data() == flask_provider.response(a=1, b="二").get_data()


def test_what_neither_can_encode_fails_as_before(app, flask_provider):
    with app.test_request_context():
        for provider in (app.json, flask_provider):
            with pytest.raises(TypeError):
                provider.response({"set": {1, 2}})


def test_an_api_response_is_utf8_not_escaped(client):
    response = client.get("/api/v1/quizzes/current")  # no token: the 401's Chinese message
    assert response.status_code == 401
    assert "请先登录".encode() in response.get_data()
