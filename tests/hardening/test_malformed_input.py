"""Malformed input is a 4xx in the error shape, never a 500; text refuses control characters; every message is Chinese.

Issue #15 items 8 and 9, and from 14: Chinese validation messages, 405 with Allow, the CSV export's content type.
"""
import io
import re

import pytest
from sqlalchemy import select

from core.extensions import db
from core.schemas import plain_text
from learning.models import Material
from members.models import Member
from quotas.models import BookReport

SHAPE = {"code", "message", "details"}
CJK = re.compile("[\u4e00-\u9fff]")


def _json(client, method, url, headers, text):
    return client.open(url, method=method, headers={**headers, "Content-Type": "application/json"}, data=text)


def _assert_4xx(response):
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert set(body) == SHAPE and CJK.search(body["message"]), body
    return body


def _book(**changes):
    return {"title": "习近平新时代中国特色社会主义思想学习纲要", "author": "中共中央宣传部",
        "finished_on": "2026-11-20",
            "reflection": "收获很大。" * 30, **changes}


def _material(client, headers, day, **changes):
    created = client.post("/api/v1/materials", headers=headers, json={
        "title": "学习贯彻全会精神", "day": day, "publish": True, "estimated_minutes": 1, "body": "坚持党的领导。",
        **changes})
    return created


def test_a_json_body_nested_1000_levels_is_a_400(ctx, client, login, org):
    deep = '{"title": ' + "[" * 1000 + "]" * 1000 + "}"
    for text in ("[" * 1000 + "]" * 1000, deep, "[" * 100 + "]" * 100):
        body = _assert_4xx(_json(client, "POST", "/api/v1/me/books", login(org.member_a), text))
        assert body["code"] == "bad_request" and "嵌套" in body["message"]
    assert db.session.scalar(select(BookReport.id)) is None


def test_a_5001_digit_integer_is_a_422(ctx, client, login, org, frozen):
    frozen("2026-11-23 09:00")
    material = _material(client, login(org.secretary_a), "2026-11-23")
    assert material.status_code == 201, material.get_json()
    url = f"/api/v1/materials/{material.get_json()['id']}/reads/finish"
    headers = login(org.member_a)
    assert client.post(url.replace("/finish", ""), headers=headers).status_code in (200, 201)
    for digits in ("9" * 5001, "-" + "9" * 5001, "9" * 25):
        body = _assert_4xx(_json(client, "POST", url, headers, '{"client_seconds": ' + digits + "}"))
        assert body["code"] == "value_out_of_range"
    for number in ("1e999", "NaN", "Infinity"):
        _assert_4xx(_json(client, "POST", url, headers, '{"client_seconds": ' + number + "}"))


def test_a_lone_surrogate_is_a_400_and_nothing_is_stored(ctx, client, login, org):
    for text in ('{"title": "\\ud800x", "author": "某", "finished_on": "2026-11-20", "reflection": "好"}',
                 '{"title": "书", "author": "\\udfff", "finished_on": "2026-11-20", "reflection": "好"}',
                 '{"\\ud800": 1}'):
        body = _assert_4xx(_json(client, "POST", "/api/v1/me/books", login(org.member_a), text))
        assert body["code"] == "bad_request" and "Unicode" in body["message"]
    assert db.session.scalar(select(BookReport.id)) is None


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2101-01-01", "1899-12-31"])
def test_dates_at_the_ends_of_the_calendar_are_a_422(client, login, org, day):
    headers = login(org.member_a)
    for url in (f"/api/v1/branches/{org.branch_a.id}/leaderboard?day={day}",
                f"/api/v1/committees/{org.committee_a.id}/leaderboard?period=year&day={day}"):
        body = _assert_4xx(client.get(url, headers=headers))
        assert body["code"] == "validation_error" and "日期应在" in body["details"]["fields"]["day"][0]
    body = _assert_4xx(client.post("/api/v1/me/books", headers=headers, json=_book(finished_on=day)))
    assert "finished_on" in body["details"]["fields"]


UNSAFE = {"U+0001": "\x01", "ESC": "\x1b", "NUL": "\x00", "RTL override": "\u202e", "zero-width space": "\u200b",
          "zero-width joiner": "\u200d", "BOM": "\ufeff", "isolate": "\u2066", "DEL": "\x7f", "C1": "\x85"}


@pytest.mark.parametrize("char", UNSAFE.values(), ids=UNSAFE.keys())
def test_text_fields_refuse_control_bidi_and_zero_width_characters(ctx, client, login, org, frozen, char):
    """The same field error on SQLite and PostgreSQL (NUL no longer reaches the database), nothing stored."""
    frozen("2026-11-23 09:00")
    body = _assert_4xx(client.post("/api/v1/me/books", headers=login(org.member_a),
                                   json=_book(title=f"学习{char}纲要")))
    assert body["code"] == "validation_error"
    assert "控制字符" in body["details"]["fields"]["title"][0] and f"U+{ord(char):04X}" in \
        body["details"]["fields"]["title"][0]
    body = _assert_4xx(_material(client, login(org.secretary_a), "2026-11-23", title="学习" + char,
                                 tags=["理论" + char]))
    assert set(body["details"]["fields"]) == {"title", "tags"}
    assert db.session.scalar(select(BookReport.id)) is None and db.session.scalar(select(Material.id)) is None


def test_text_fields_keep_tabs_newlines_and_ordinary_unicode(ctx, client, login, org):
    text = ("第一段\n\t第二段\r\n《共产党宣言》——读后感 ✊" * 10).strip()
    response = client.post("/api/v1/me/books", headers=login(org.member_a), json=_book(reflection=text))
    assert response.status_code == 201, response.get_json()
    assert db.session.scalar(select(BookReport.reflection)) == text


def _upload(client, url, headers, text, filename="data.csv"):
    return client.post(url, headers=headers, data={"file": (io.BytesIO(text.encode("utf-8")), filename)},
                       content_type="multipart/form-data")


def test_imports_report_control_characters_per_row(ctx, client, login, org, frozen):
    frozen("2026-11-23 09:00")
    headers = login(org.secretary_a)
    before = db.session.scalar(select(db.func.count(Member.id)))
    roster = ("姓名,手机号,支部,党小组,角色,入党日期\n张\x01三,13700000001,甲一支部,,党员,\n"
              "李四,13700000002,甲一支部,,党员,\n王\u202e五,13700000003,甲一支部,,党员,\n")
    plans = "日期,标题,摘要\n2026-11-24,学习\x1b纲要,好\n2026-11-25,学习纲要,摘\u200b要\n"
    bank = "题型,题干,选项A,选项B,答案\n单选,党的\x07宗旨是,为人民服务,其他,A\n"
    for url, text, expected in (
            (f"/api/v1/branches/{org.branch_a.id}/roster", roster, [(2, "姓名"), (4, "姓名")]),
            (f"/api/v1/materials/import?branch_id={org.branch_a.id}", plans, [(2, "标题"), (3, "摘要")]),
            (f"/api/v1/branches/{org.branch_a.id}/questions/import", bank, [(2, "题干")])):
        body = _assert_4xx(_upload(client, url, headers, text))
        assert body["code"] == "import_rejected", body
        found = [(e["row"], e["column"]) for e in body["details"]["errors"]]
        assert found == expected, body
        assert all("控制字符" in e["reason"] for e in body["details"]["errors"])
    assert db.session.scalar(select(db.func.count(Member.id))) == before
    assert db.session.scalar(select(Material.id)) is None


def test_a_405_names_the_allowed_methods(client, login, org):
    response = client.delete("/api/v1/me", headers=login(org.member_a))
    assert response.status_code == 405 and response.get_json()["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
    assert "DELETE" not in response.headers["Allow"]


def test_the_csv_export_says_its_charset_once(client, login, org):
    response = client.get(f"/api/v1/branches/{org.branch_a.id}/quota-board/export?format=csv",
                          headers=login(org.secretary_a))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def _every_field(field):
    yield field
    for inner in [getattr(field, "inner", None), getattr(field, "key_field", None),
                  getattr(field, "value_field", None), *getattr(field, "tuple_fields", ())]:
        if inner is not None:
            yield from _every_field(inner)


def _validator_counts(schema_class):
    return [len(f.validators) for declared in schema_class._declared_fields.values() for f in _every_field(declared)]


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_loading_a_body_adds_no_validator_to_the_declared_fields(client, login, org):
    """Each schema instance copies its declared fields; the global limits go onto each copy once and never pile up on
    the declared field (when webargs built a schema per request, a worker checked one text more times with every
    request it served)."""
    from core.schemas import StrictSchema
    from quizzes.schemas import AnswersSchema

    for schema_class in _subclasses(StrictSchema):
        schema_class()
        before = _validator_counts(schema_class)
        schema_class(), schema_class()
        assert _validator_counts(schema_class) == before, schema_class.__name__
        keys = schema_class().fields.get("answers")
        if keys is not None and getattr(keys, "key_field", None) is not None:
            assert keys.key_field.validators.count(plain_text) == 1
    before = _validator_counts(AnswersSchema)
    headers = login(org.member_a)
    for _ in range(3):
        saved = client.put("/api/v1/attempts/999999/answers", headers=headers, json={"answers": {"1": "A"}})
        assert saved.status_code == 404
    assert _validator_counts(AnswersSchema) == before


def test_each_body_schema_is_built_once_and_still_refuses_bad_input(client, login, org):
    """The parser keeps one instance of each schema class (webargs would build one per request); a body refused by
    that instance leaves it fit to load the next."""
    import flask_smorest

    from quizzes.schemas import AnswersSchema

    parser = flask_smorest.Blueprint.ARGUMENTS_PARSER
    assert parser._get_schema(AnswersSchema, None) is parser._get_schema(AnswersSchema, None)
    headers = login(org.member_a)
    refused = client.put("/api/v1/attempts/1/answers", headers=headers, json={"answers": {"x": "A"}})
    assert refused.status_code == 422 and "answers" in refused.get_json()["details"]["fields"], refused.get_json()
    again = client.put("/api/v1/attempts/999999/answers", headers=headers, json={"answers": {"1": "A"}})
    assert again.status_code == 404
