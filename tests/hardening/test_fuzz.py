"""Schemathesis over the served OpenAPI document: every operation, as a member, a secretary and an admin."""
import os

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

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
