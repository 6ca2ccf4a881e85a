"""core.schemas.parse_json_body: a lone surrogate or nesting past MAX_JSON_DEPTH is refused, whether the body is
bytes or text, and a body that only looks like one (brackets in strings, an escaped backslash, a valid pair) is not;
a plain answer sheet is read as it is."""
import json

import pytest

from core.errors import AppError
from core.schemas import MAX_JSON_DEPTH, parse_json_body


@pytest.mark.parametrize("text", ['{"a": "\\ud800"}', '{"a": ["x", "\\uDC00"]}', '{"\\udbff": 1}',
                                  '{"a": "\\ud83d"}'])
def test_a_lone_surrogate_escape_is_refused(text):
    with pytest.raises(AppError) as refused:
        parse_json_body(text.encode())
    assert refused.value.status == 400 and "代理项" in refused.value.message


def test_a_lone_surrogate_in_a_text_body_is_refused():
    with pytest.raises(AppError) as refused:
        parse_json_body('{"a": "x\ud800"}')
    assert refused.value.status == 400 and "代理项" in refused.value.message


def test_nesting_past_the_limit_is_refused_and_at_it_is_read():
    deepest = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json_body(deepest.encode()) == json.loads(deepest)
    with pytest.raises(AppError) as refused:
        parse_json_body(('{"a": ' + deepest + "}").encode())  # one level more
    assert refused.value.status == 400 and "嵌套过深" in refused.value.message


@pytest.mark.parametrize("text, value", [
    ('{"a": "\\ud83d\\ude00"}', {"a": "\U0001F600"}),  # a valid pair is one character
    ('{"a": "\\\\ud800"}', {"a": "\\ud800"}),  # an escaped backslash, then text
    ('{"a": "' + "[" * 40 + '"}', {"a": "[" * 40}),  # brackets in a string
    ("[" + ",".join(["[]"] * 40) + "]", [[]] * 40),  # many brackets, two levels
    ('{"101": "A", "102": ["A", "C"], "103": ["答案一"], "104": null}',
     {"101": "A", "102": ["A", "C"], "103": ["答案一"], "104": None}),
])
def test_what_only_looks_like_it_is_read(text, value):
    assert parse_json_body(text.encode()) == value
