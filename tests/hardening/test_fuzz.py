"""Schemathesis over the served OpenAPI document: every operation, as a member, a secretary and an admin."""
import os
import re

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.cache import get_redis
from tests.hardening.conftest import secret_values

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = ("member_a", "secretary_a", "admin_a")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))  # per operation and role; CI keeps it small


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Logging out revokes the session the rest would use: fuzz it last.
    return schema, sorted(operations, key=lambda op: op.path == "/api/v1/auth/logout")


def test_every_operation_documents_its_errors(app):
    """Each operation in the served document lists the error statuses it can answer, in the error shape."""
    with app.test_client() as client:
        spec = client.get("/api/v1/openapi.json").get_json()
    missing = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            needed = {"404", "422", "429", "503"} | ({"401", "403"} if operation.get("security") != [] else set())
            absent = needed - set(operation["responses"])
            if absent:
                missing.append(f"{method.upper()} {path}: {sorted(absent)}")
    assert not missing, "undocumented error responses:\n" + "\n".join(missing)
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["code"]["type"] == "string" and set(error["properties"]) == {"code", "message",
                                                                                               "details"}
    assert spec["components"]["responses"]["UNAUTHORIZED"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}


def test_fuzz_every_operation_as_each_role(app, org, headers_for, ctx):
    """No generated request gives a 5xx, an undocumented status or a body that breaks its schema."""
    schema, operations = _operations(app)
    secrets = secret_values(app)
    failures, fuzzed, statuses = [], 0, {}
    for operation in operations:
        for role in ROLES:
            headers = headers_for(role, fresh=True)  # an earlier operation may have revoked the last one

            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def run(case):
                get_redis().delete(*get_redis().keys("bs-rl*") or ["-"])  # rate limits would hide the rest
                # The generated case carries a random bearer token for the documented security scheme: replace it.
                case.headers = {**(case.headers or {}), **headers}
                response = case.call()
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                case.validate_response(response, checks=CHECKS)
                assert not any(s.encode() in response.content for s in secrets), "a secret leaked into a response"

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # collect every failing operation, not just the first
                failures.append(f"{operation.label} as {role}: {str(exc)[:800]}")
            fuzzed += 1
    print(f"fuzzed {len(operations)} operations × {len(ROLES)} roles, {sum(statuses.values())} requests: {statuses}")
    assert fuzzed >= len(operations) * len(ROLES) and len(operations) >= 90
    assert not failures, f"{len(failures)} of {fuzzed} operation×role runs failed:\n" + "\n\n".join(failures)


# Values that broke the service (issue #15 item 8), sent in every parameter and body field of every operation.
HUGE_INT = "9" * 5001
CALENDAR_ENDS = ("9999-12-31", "0001-01-01")
DATETIME_ENDS = ("9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00")
DEEP = "[" * 1000 + "]" * 1000
CJK = re.compile("[\u4e00-\u9fff]")


def _resolve(spec, schema):
    while "$ref" in (schema or {}):
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema or {}


def _query_values(schema):
    kind, fmt = schema.get("type"), schema.get("format")
    if fmt == "date":
        return list(CALENDAR_ENDS)
    if fmt == "date-time":
        return list(DATETIME_ENDS)
    if kind == "integer":
        return [HUGE_INT, "-" + HUGE_INT]
    if kind == "string":
        return ["a\x01\u202eb\x00"]
    return []


def _json_values(schema):
    """Raw JSON texts for one body field: huge integers, a lone surrogate, the calendar's ends, deep nesting."""
    kind, fmt = schema.get("type"), schema.get("format")
    values = ['"\\ud800x"', "[" * 200 + "]" * 200]
    if fmt == "date":
        values += [f'"{day}"' for day in CALENDAR_ENDS]
    elif fmt == "date-time":
        values += [f'"{moment}"' for moment in DATETIME_ENDS]
    if kind in ("integer", "number") or fmt in ("date", "date-time") or kind is None:
        values += [HUGE_INT, "-" + HUGE_INT, "1e999"]
    return values


def _path(path, org, role):
    ids = {"branch_id": org.branch_a.id, "committee_id": org.committee_a.id, "member_id": getattr(org, role).id}
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)


def _messages(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _messages(item)
    elif isinstance(value, list):
        for item in value:
            yield from _messages(item)


def _malformed_cases(spec, operation):
    """The malformed requests for one operation: each query parameter, the deep body, each body field."""
    cases = []
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            cases += [{"query_string": {parameter["name"]: value}}
                      for value in _query_values(_resolve(spec, parameter.get("schema")))]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        cases.append({"data": DEEP})
        for name, schema in _resolve(spec, body["schema"]).get("properties", {}).items():
            cases += [{"data": f'{{"{name}": {value}}}'} for value in _json_values(_resolve(spec, schema))]
    return cases


def test_malformed_values_on_every_operation_are_4xx_in_chinese(app, client, org, headers_for):
    """Every operation, as a member, a secretary and an admin: each query parameter and each body field gets a
    5,001-digit integer, a lone surrogate, control characters, 9999-12-31 and 0001-01-01, and the body is nested
    1,000 levels. None may be a 5xx; every 4xx is the error shape, and every message in it (the message and each
    field's reasons) is Chinese: no marshmallow or webargs English leaks."""
    spec = client.get("/api/v1/openapi.json").get_json()
    failures, english, sent = [], set(), 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or path.endswith("/auth/logout"):
                continue
            cases = _malformed_cases(spec, operation)
            for role in ("member_a", "secretary_a", "admin_a"):
                for case in cases:
                    get_redis().delete(*get_redis().keys("bs-rl*") or ["-"])
                    headers = {**headers_for(role), "Content-Type": "application/json"}
                    response = client.open(_path(path, org, role), method=method.upper(), headers=headers, **case)
                    sent += 1
                    label = f"{method.upper()} {path} as {role} with {str(case)[:80]}"
                    if response.status_code >= 500:
                        failures.append(f"{label}: {response.status_code} {response.get_data(as_text=True)[:200]}")
                        continue
                    if response.status_code < 400:
                        continue
                    answer = response.get_json(silent=True)
                    if not isinstance(answer, dict) or set(answer) != {"code", "message", "details"}:
                        failures.append(f"{label}: not the error shape: {response.get_data(as_text=True)[:200]}")
                        continue
                    english |= {f"{m} ({label})" for m in _messages([answer["message"],
                                                                      answer["details"].get("fields", {})])
                                if not CJK.search(m)}
    print(f"sent {sent} malformed requests")
    assert sent > 1000
    assert not failures, f"{len(failures)} malformed requests failed:\n" + "\n".join(failures[:40])
    assert not english, f"messages a member or secretary would read in English: {sorted(english)}"
