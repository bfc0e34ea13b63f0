"""The OpenAPI document works as a console: the bearer scheme, every operation's real error
answers in problem+json, a description and an example for every field; and schemathesis,
generating valid and invalid requests from it with every check it has, finds the server and
the document in agreement: no 5xx, no undocumented status, header or content type, every
schema-valid request accepted and every schema-violating one refused, 405s that name what is
allowed. No operation is left out: none of them sends anything to the network here (no
STRIPE_API_KEY, and the webhook dispatcher does not run)."""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation.meta import negated_parameters
from stripe_fixtures import sign

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.storage.database import connect
from tests.support.settings import START, WEBHOOK_SECRET, auth, make_settings

EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "40"))
load_all_checks()
EVERY_CHECK = CHECKS.get_all()


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
                "entry in app/http/apidoc/glossary.py"
            )
        assert schema.get("examples"), f"{name} has no example"
    for key, _, operation in operations(doc):
        for param in operation.get("parameters", []):
            assert param.get("description") not in (None, "", param["name"]), (
                f"{key}: {param['name']} has no description: Query(description=...) or "
                "PARAMETERS in app/http/apidoc/glossary.py"
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


async def test_a_405_names_every_method_of_its_path(client):
    spread = await client.delete("/v1/accounts/user_1/reservations", headers=auth())
    single = await client.put("/healthz")

    assert (spread.status_code, spread.headers["allow"]) == (405, "GET, POST")
    assert (single.status_code, single.headers["allow"]) == (405, "GET")
    assert spread.headers["content-type"] == "application/problem+json"


async def test_idempotency_key_is_documented_as_the_server_requires_it(client):
    doc = (await client.get("/openapi.json")).json()

    for key, _, operation in operations(doc):
        for param in operation.get("parameters", []):
            if param["name"] == "Idempotency-Key":
                assert param["required"] == (key != "PATCH /v1/accounts/{account_id}"), key
                assert param["schema"]["maxLength"] == 255, key


def _schema():
    # Built at import: schemathesis makes one test per operation from it. The app runs in
    # schemathesis' own event loop, over ASGI, on a database of its own.
    uri = os.environ.get("MONGODB_TEST_URI")
    app = create_app(
        # ignored_auth sends wrong credentials on purpose, far more than the throttle's burst.
        make_settings(auth_failure_burst=1_000_000),
        db=connect(uri, f"test_{uuid.uuid4().hex[:12]}"),
        clock=FrozenClock(START),
        sweeper=False,
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Undeclared headers are no part of the contract (proxies and browsers add their own), so
    # negative cases do not invent parameters; undeclared /v1 query parameters are refused,
    # tested on their own (test_an_undeclared_query_parameter_is_refused).
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], allow_extra_parameters=False
    )
    # A valid debit or hold may ask for more than the balance: its documented answer is 402
    # insufficient_credits, a refusal of the spend, not of the request's shape.
    acceptance = schema.config.checks.positive_data_acceptance
    acceptance.expected_statuses = [*acceptance.expected_statuses, "402"]
    return schema


schema = _schema()


def signed_as_stripe_signs(case) -> None:
    """Stripe's endpoint is called by Stripe, which signs each body: a valid case is sent
    with the real signature of its body; an invalid one as generated (and refused)."""
    modes = {c.mode for c in case.meta.components.values()} | {case.meta.generation.mode}
    valid = modes == {GenerationMode.POSITIVE}
    if case.path != "/webhooks/stripe" or not valid or "Stripe-Signature" not in case.headers:
        return
    # The body goes out as the HTTP client serialises it: a v1 signature for each way it may
    # (Stripe's header may carry several, as it does while a secret rotates).
    at = int(time.time())
    forms = {
        json.dumps(case.body),
        json.dumps(case.body, separators=(",", ":"), ensure_ascii=False),
    }
    signatures = [sign(form.encode("utf-8", "surrogatepass"), WEBHOOK_SECRET, at) for form in forms]
    v1 = ",".join(part.split(",", 1)[1] for part in signatures)
    case.headers = {**case.headers, "Stripe-Signature": f"t={at},{v1}"}


def in_the_future(case) -> None:
    """A grant's expiry must be after now, which no schema can say: a valid case names a
    future one (the refusal of a past one is tested in tests/ledger/test_bad_input.py)."""
    modes = {c.mode for c in case.meta.components.values()} | {case.meta.generation.mode}
    body = case.body
    if (
        case.path == "/v1/accounts/{account_id}/grants"
        and modes == {GenerationMode.POSITIVE}
        and isinstance(body, dict)
        and isinstance(body.get("expires_at"), str)
    ):
        body["expires_at"] = "2999-01-01T00:00:00Z"
    # Called from here, not from the test: hypothesis seeds its derandomized draws from the
    # test function's source, and a change there draws other cases for every operation.
    auto_topup_as_the_rules_allow(case)


def auto_topup_as_the_rules_allow(case) -> None:
    """What no schema can say of auto top-up settings: the pack is one of the catalog, one of
    quantity / target_balance and one cap, a target above the threshold, and enabling needs
    STRIPE_API_KEY (this app has none). A valid case keeps to that and stays off (the refusals
    are tested in tests/topups/test_settings.py)."""
    modes = {c.mode for c in case.meta.components.values()} | {case.meta.generation.mode}
    body = case.body
    if (
        case.path != "/v1/accounts/{account_id}/auto-topup"
        or case.method.upper() != "PUT"
        or modes != {GenerationMode.POSITIVE}
        or not isinstance(body, dict)
    ):
        return
    body["enabled"] = False
    if body.get("pack") is not None:
        body["pack"] = "boost_500"
    if body.get("quantity") is not None:
        body["target_balance"] = None
    if body.get("monthly_cap_packs") is not None:
        body["monthly_cap_amount"] = None
    target, threshold = body.get("target_balance"), body.get("threshold")
    if target is not None and threshold is not None and target <= threshold:
        body["target_balance"] = None


def a_meter_of_the_card(case) -> None:
    """A meter must be one of the rate card's, which the document leaves open (the card is the
    catalog's, not the API's): a valid case names one of the example catalog's (the refusal of
    an unknown one is tested in tests/ledger/test_metered_debits.py)."""
    modes = {c.mode for c in case.meta.components.values()} | {case.meta.generation.mode}
    if modes != {GenerationMode.POSITIVE}:
        return
    for where in (case.body, case.query):
        if isinstance(where, dict) and isinstance(where.get("meter"), str):
            where["meter"] = "image.1024px"
            where.pop("occurred_at", None)  # the window is around the clock: left to now
    records = case.body.get("records") if isinstance(case.body, dict) else None
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict) and isinstance(record.get("meter"), str):
            record["meter"] = "image.1024px"
            record.pop("occurred_at", None)


def credentials_for(case) -> dict[str, str] | None:
    """An admin key, so that requests get past authentication to the rules behind it; a case
    whose mutation is the credentials themselves keeps its own (their refusal is the answer
    it expects: sent with a good key, it would be a valid request reported as accepted)."""
    if any(name.lower() == "authorization" for name, _ in negated_parameters(case.meta)):
        return None
    return auth("admin")


@schema.parametrize()
@pytest.mark.slow
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_and_the_document_agree_under_every_check(case):
    assert len(EVERY_CHECK) >= 14, [c.__name__ for c in EVERY_CHECK]
    signed_as_stripe_signs(case)
    in_the_future(case)
    a_meter_of_the_card(case)
    case.call_and_validate(headers=credentials_for(case), checks=EVERY_CHECK)


async def test_an_undeclared_query_parameter_is_refused(client):
    refused = await client.get("/v1/accounts", params={"limt": 5}, headers=auth())
    fine = await client.get("/v1/accounts", params={"limit": 5}, headers=auth())

    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["query", "limt"]
    assert fine.status_code == 200
    assert (await client.get("/healthz", params={"probe": 1})).status_code == 200


async def test_a_query_parameter_given_twice_is_refused(client):
    twice = await client.get("/v1/accounts?limit=5&limit=6", headers=auth())
    once = await client.get("/v1/accounts?limit=5", headers=auth())

    assert twice.status_code == 422, twice.text
    assert twice.headers["content-type"] == "application/problem+json"
    assert twice.json()["errors"] == [
        {
            "loc": ["query", "limit"],
            "msg": "given more than once; it takes one value",
            "type": "repeated",
        }
    ]
    assert once.status_code == 200
