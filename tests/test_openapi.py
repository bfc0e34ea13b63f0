"""The OpenAPI document works as a console: the bearer scheme, every operation's real error
answers in problem+json, a description and an example for every field; and schemathesis,
generating requests from it, finds no 5xx and no answer that breaks it."""

from __future__ import annotations

import os
import uuid

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.clock import FrozenClock
from app.db import connect
from app.main import create_app
from tests.conftest import START, auth, make_settings

EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "40"))


def operations(doc):
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", path, operation


async def test_the_document_declares_the_bearer_scheme_on_every_v1_operation(client):
    doc = (await client.get("/openapi.json")).json()

    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for key, path, operation in operations(doc):
        assert (operation.get("security") == [{"bearerAuth": []}]) == path.startswith("/v1/"), key


async def test_every_operation_lists_its_error_answers_as_problem_json(client):
    doc = (await client.get("/openapi.json")).json()

    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for key, path, operation in operations(doc):
        errors = {
            status: answer for status, answer in operation["responses"].items() if status[0] in "45"
        }
        if path.startswith("/v1/") or operation.get("parameters"):
            assert {"401", "422"} & set(errors), key
        for status, answer in errors.items():
            content = answer["content"]["application/problem+json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Problem"}, key
            assert all(
                example["value"]["status"] == int(status)
                for example in content["examples"].values()
            ), key


async def test_the_errors_named_by_the_rules_are_documented_where_they_happen(client):
    doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]

    def codes(path, method, status):
        answer = paths[path][method]["responses"][status]
        return set(answer["content"]["application/problem+json"]["examples"])

    debit = "/v1/accounts/{account_id}/debits"
    assert codes(debit, "post", "402") == {"insufficient_credits"}
    assert codes(debit, "post", "403") == {"forbidden", "access_suspended", "negative_balance"}
    assert codes(debit, "post", "400") == {"idempotency_key_missing", "idempotency_key_invalid"}
    assert codes(debit, "post", "409") == {"idempotency_key_reused"}
    assert codes(debit, "post", "404") == {"account_not_found"}
    capture = "/v1/reservations/{reservation_id}/capture"
    assert codes(capture, "post", "409") >= {"reservation_not_held", "reservation_expired"}
    assert "404" not in paths["/v1/accounts/{account_id}/grants"]["post"]["responses"]
    assert codes("/webhooks/stripe", "post", "400") == {"invalid_signature", "invalid_payload"}


async def test_every_field_and_parameter_is_described_and_every_body_has_an_example(client):
    doc = (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]

    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            assert prop.get("description"), (
                f"{name}.{field} has no description: give it Field(description=...) or an "
                "entry in app/apidoc/glossary.py"
            )
        assert schema.get("examples"), f"{name} has no example"
    for key, _, operation in operations(doc):
        for param in operation.get("parameters", []):
            assert param.get("description") not in (None, "", param["name"]), (
                f"{key}: {param['name']} has no description: Query(description=...) or "
                "PARAMETERS in app/apidoc/glossary.py"
            )


async def test_malformed_json_is_answered_in_words_a_person_understands(client):
    r = await client.post(
        "/v1/accounts/user_1/debits",
        content=b'{"amount": 3,',
        headers={**auth(), "Idempotency-Key": "k1", "Content-Type": "application/json"},
    )

    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "validation_error"
    assert body["detail"] == (
        "body: not valid JSON: Expecting property name enclosed in double quotes (at character 13)"
    )
    assert body["errors"] == [
        {"loc": ["body"], "type": "json_invalid", "msg": body["detail"].removeprefix("body: ")}
    ]


def _schema():
    # Built at import: schemathesis makes one test per operation from it. The app runs in
    # schemathesis' own event loop, over ASGI, on a database of its own.
    uri = os.environ.get("MONGODB_TEST_URI")
    app = create_app(
        make_settings(),
        db=connect(uri, f"test_{uuid.uuid4().hex[:12]}"),
        clock=FrozenClock(START),
        sweeper=False,
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_get_no_5xx_and_answers_that_match_the_document(case):
    # An admin key, so that requests get past authentication to the rules behind it.
    case.call_and_validate(
        headers=auth("admin"),
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
