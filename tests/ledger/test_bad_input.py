"""Bad input: every malformed request gets its 4xx problem+json with the right code, and the
database is left exactly as it was. Never a 500."""

import pytest

from tests.factories import assert_invariants, assert_problem, make_account, new_key, snapshot
from tests.support.settings import auth

ACCOUNT = "user_1"
DEBITS = f"/v1/accounts/{ACCOUNT}/debits"
RESERVATIONS = f"/v1/accounts/{ACCOUNT}/reservations"
GRANTS = f"/v1/accounts/{ACCOUNT}/grants"
ADJUSTMENTS = f"/v1/accounts/{ACCOUNT}/adjustments"
LEDGER = f"/v1/accounts/{ACCOUNT}/ledger"
ACCESS = f"/v1/accounts/{ACCOUNT}/access"
CAPTURE = "/v1/reservations/{rid}/capture"
RELEASE = "/v1/reservations/{rid}/release"
GRANT = {"kind": "bonus", "description": "promo"}


def case(
    name,
    method,
    path,
    *,
    json=None,
    content=None,
    params=None,
    headers=None,
    status=422,
    code="validation_error",
):
    return pytest.param(method, path, json, content, params, headers or {}, status, code, id=name)


WRONG_AMOUNTS = [
    ("string", "5"),
    ("float", 5.5),
    ("bool", True),
    ("null", None),
    ("negative", -1),
    ("zero", 0),
    ("over_a_trillion", 10**13),
    ("beyond_int64", 2**70),
    ("list", [1]),
    ("object", {"n": 1}),
]

CASES = [
    # Amounts of every credit-changing endpoint.
    *[case(f"debit_amount_{n}", "POST", DEBITS, json={"amount": v}) for n, v in WRONG_AMOUNTS],
    *[
        case(f"reserve_amount_{n}", "POST", RESERVATIONS, json={"amount": v})
        for n, v in WRONG_AMOUNTS
    ],
    *[
        case(f"capture_amount_{n}", "POST", CAPTURE, json={"amount": v})
        for n, v in WRONG_AMOUNTS
        if v is not None
    ],
    *[
        case(f"grant_amount_{n}", "POST", GRANTS, json={"amount": v, **GRANT})
        for n, v in WRONG_AMOUNTS
    ],
    case("debit_amount_missing", "POST", DEBITS, json={}),
    case("grant_amount_missing", "POST", GRANTS, json=GRANT),
    case("adjustment_amount_zero", "POST", ADJUSTMENTS, json={"amount": 0, "reason": "x"}),
    case("adjustment_amount_float", "POST", ADJUSTMENTS, json={"amount": -2.5, "reason": "x"}),
    case("adjustment_amount_huge", "POST", ADJUSTMENTS, json={"amount": -(10**13), "reason": "x"}),
    case("adjustment_amount_string", "POST", ADJUSTMENTS, json={"amount": "-5", "reason": "x"}),
    case("adjustment_reason_missing", "POST", ADJUSTMENTS, json={"amount": 5}),
    case("adjustment_reason_empty", "POST", ADJUSTMENTS, json={"amount": 5, "reason": ""}),
    # Unknown fields are refused, not ignored.
    case("debit_unknown_field", "POST", DEBITS, json={"amount": 1, "account_id": "other"}),
    case("reserve_unknown_field", "POST", RESERVATIONS, json={"amount": 1, "ttl": 5}),
    case("capture_unknown_field", "POST", CAPTURE, json={"amount": 1, "force": True}),
    case("grant_unknown_field", "POST", GRANTS, json={"amount": 1, **GRANT, "remaining": 9}),
    case(
        "adjustment_unknown_field",
        "POST",
        ADJUSTMENTS,
        json={"amount": 1, "reason": "x", "kind": "bonus"},
    ),
    # Reservations.
    case("ttl_zero", "POST", RESERVATIONS, json={"amount": 1, "ttl_seconds": 0}),
    case("ttl_over_a_day", "POST", RESERVATIONS, json={"amount": 1, "ttl_seconds": 86401}),
    case("ttl_string", "POST", RESERVATIONS, json={"amount": 1, "ttl_seconds": "60"}),
    # Metadata and descriptions.
    case(
        "metadata_51_keys",
        "POST",
        DEBITS,
        json={"amount": 1, "metadata": {f"k{i}": i for i in range(51)}},
    ),
    case("metadata_bad_key", "POST", DEBITS, json={"amount": 1, "metadata": {"$where": "1"}}),
    case("metadata_nested", "POST", DEBITS, json={"amount": 1, "metadata": {"a": {"b": 1}}}),
    case("metadata_float", "POST", DEBITS, json={"amount": 1, "metadata": {"a": 1.5}}),
    case("metadata_int_beyond_int64", "POST", DEBITS, json={"amount": 1, "metadata": {"a": 2**70}}),
    case("metadata_long_value", "POST", DEBITS, json={"amount": 1, "metadata": {"a": "x" * 501}}),
    case("metadata_not_an_object", "POST", DEBITS, json={"amount": 1, "metadata": ["a"]}),
    case("description_too_long", "POST", DEBITS, json={"amount": 1, "description": "x" * 501}),
    # Grants.
    case(
        "grant_kind_subscription",
        "POST",
        GRANTS,
        json={"amount": 1, "kind": "subscription", "description": "x"},
    ),
    case(
        "grant_kind_purchase",
        "POST",
        GRANTS,
        json={"amount": 1, "kind": "purchase", "description": "x"},
    ),
    case(
        "grant_kind_unknown", "POST", GRANTS, json={"amount": 1, "kind": "gift", "description": "x"}
    ),
    case("grant_description_missing", "POST", GRANTS, json={"amount": 1, "kind": "bonus"}),
    case(
        "grant_expires_in_the_past",
        "POST",
        GRANTS,
        json={"amount": 1, **GRANT, "expires_at": "2026-10-31T12:00:00Z"},
    ),
    case(
        "grant_expires_now",
        "POST",
        GRANTS,
        json={"amount": 1, **GRANT, "expires_at": "2026-11-01T12:00:00Z"},
    ),
    case(
        "grant_expires_in_the_past_in_another_zone",
        "POST",
        GRANTS,
        json={"amount": 1, **GRANT, "expires_at": "2026-11-01T20:00:00+14:00"},
    ),
    case(
        "grant_expires_without_timezone",
        "POST",
        GRANTS,
        json={"amount": 1, **GRANT, "expires_at": "2026-12-31T00:00:00"},
    ),
    case(
        "grant_expires_not_a_date",
        "POST",
        GRANTS,
        json={"amount": 1, **GRANT, "expires_at": "next week"},
    ),
    case(
        "grant_expires_beyond_year_9999_in_utc",
        "POST",
        GRANTS,
        json={"amount": 1, **GRANT, "expires_at": "9999-12-31T23:00:00-12:00"},
    ),
    # Malformed bodies.
    case(
        "malformed_json",
        "POST",
        DEBITS,
        content=b'{"amount": ',
        headers={"Content-Type": "application/json"},
    ),
    case(
        "json_not_an_object",
        "POST",
        DEBITS,
        content=b"[1]",
        headers={"Content-Type": "application/json"},
    ),
    case(
        "json_bad_utf8",
        "POST",
        DEBITS,
        content=b'{"amount": "\xff"}',
        headers={"Content-Type": "application/json"},
    ),
    case(
        "body_not_json",
        "POST",
        DEBITS,
        content=b"amount=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    case("body_missing", "POST", DEBITS),
    case(
        "capture_malformed_json",
        "POST",
        CAPTURE,
        content=b"{",
        headers={"Content-Type": "application/json"},
    ),
    # Account and reservation ids in the path.
    case("account_id_too_long", "POST", f"/v1/accounts/{'a' * 129}/debits", json={"amount": 1}),
    case("account_id_with_space", "POST", "/v1/accounts/user%201/debits", json={"amount": 1}),
    case("account_id_with_dollar", "POST", "/v1/accounts/user$1/debits", json={"amount": 1}),
    case(
        "account_id_with_slash",
        "POST",
        "/v1/accounts/user%2F1/debits",
        json={"amount": 1},
        status=404,
        code="not_found",
    ),
    case(
        "account_id_with_space_on_grant",
        "POST",
        "/v1/accounts/a%20b/grants",
        json={"amount": 1, **GRANT},
    ),
    case("account_id_with_dollar_on_read", "GET", "/v1/accounts/$where"),
    # The same full-match rule as for ids in webhooks: no trailing newline.
    case(
        "account_id_with_trailing_newline_on_grant",
        "POST",
        "/v1/accounts/acct%0A/grants",
        json={"amount": 1, **GRANT},
    ),
    case("account_id_with_trailing_newline_on_read", "GET", "/v1/accounts/acct%0A"),
    case("account_id_too_long_on_ledger", "GET", f"/v1/accounts/{'a' * 129}/ledger"),
    case("reservation_id_with_dollar", "POST", "/v1/reservations/rsv$1/capture", json={}),
    # The Idempotency-Key header.
    *[
        case(
            f"{name}_without_idempotency_key",
            "POST",
            path,
            json=body,
            headers={"Idempotency-Key": None},
            status=400,
            code="idempotency_key_missing",
        )
        for name, path, body in [
            ("debit", DEBITS, {"amount": 1}),
            ("reserve", RESERVATIONS, {"amount": 1}),
            ("capture", CAPTURE, {}),
            ("release", RELEASE, None),
            ("grant", GRANTS, {"amount": 1, **GRANT}),
            ("adjustment", ADJUSTMENTS, {"amount": 1, "reason": "x"}),
        ]
    ],
    case(
        "idempotency_key_256_chars",
        "POST",
        DEBITS,
        json={"amount": 1},
        headers={"Idempotency-Key": "k" * 256},
        status=400,
        code="idempotency_key_invalid",
    ),
    case(
        "idempotency_key_empty",
        "POST",
        DEBITS,
        json={"amount": 1},
        headers={"Idempotency-Key": ""},
        status=400,
        code="idempotency_key_invalid",
    ),
    case(
        "idempotency_key_not_ascii",
        "POST",
        DEBITS,
        json={"amount": 1},
        headers={"Idempotency-Key": "clé".encode()},
        status=400,
        code="idempotency_key_invalid",
    ),
    case(
        "idempotency_key_256_chars_on_release",
        "POST",
        RELEASE,
        headers={"Idempotency-Key": "k" * 256},
        status=400,
        code="idempotency_key_invalid",
    ),
    # Query parameters.
    case("limit_zero", "GET", LEDGER, params={"limit": 0}),
    case("limit_101", "GET", LEDGER, params={"limit": 101}),
    case("limit_not_a_number", "GET", LEDGER, params={"limit": "ten"}),
    case("type_unknown", "GET", LEDGER, params={"type": "refund"}),
    case("starting_after_not_an_entry_id", "GET", LEDGER, params={"starting_after": "abc"}),
    case("starting_after_query_injection", "GET", LEDGER, params={"starting_after": '{"$gt": ""}'}),
    case("created_gte_not_a_date", "GET", LEDGER, params={"created_gte": "yesterday"}),
    case(
        "created_lt_beyond_year_9999_in_utc",
        "GET",
        LEDGER,
        params={"created_lt": "9999-12-31T23:00:00-12:00"},
    ),
    case(
        "created_gte_before_year_1_in_utc",
        "GET",
        LEDGER,
        params={"created_gte": "0001-01-01T00:00:00+05:00"},
    ),
    case("access_cost_negative", "GET", ACCESS, params={"cost": -1}),
    case("access_cost_not_a_number", "GET", ACCESS, params={"cost": "1e3"}),
    case("access_cost_huge", "GET", ACCESS, params={"cost": 2**70}),
]


@pytest.fixture
async def reservation_id(client):
    await make_account(client, ACCOUNT, 100)
    r = await client.post(
        RESERVATIONS,
        json={"amount": 10},
        headers={**auth("admin"), "Idempotency-Key": new_key("held")},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.mark.parametrize(
    ("method", "path", "json", "content", "params", "headers", "status", "code"), CASES
)
async def test_bad_input_is_refused_with_a_problem_and_writes_nothing(
    client, db, reservation_id, method, path, json, content, params, headers, status, code
):
    sent = {**auth("admin"), "Idempotency-Key": new_key("bad"), **headers}
    sent = {k: v for k, v in sent.items() if v is not None}
    before = await snapshot(db)

    r = await client.request(
        method,
        path.format(rid=reservation_id),
        json=json,
        content=content,
        params=params,
        headers=sent,
    )

    body = assert_problem(r, status, code)
    if code == "validation_error":
        assert body["errors"], body
    assert await snapshot(db) == before
    await assert_invariants(db, ACCOUNT)


async def test_validation_problem_names_the_field_and_does_not_echo_the_input(client, db):
    await make_account(client, ACCOUNT, 100)

    r = await client.post(
        DEBITS,
        json={"amount": "secret-ish-value"},
        headers={**auth("admin"), "Idempotency-Key": "k"},
    )

    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "amount"]
    assert "amount" in body["detail"]
    assert "secret-ish-value" not in r.text
    await assert_invariants(db, ACCOUNT)


async def test_unknown_route_is_a_404_problem(client):
    r = await client.get("/v1/nothing-here", headers=auth("admin"))

    assert_problem(r, 404, "not_found")


async def test_wrong_method_is_a_405_problem(client):
    r = await client.delete(f"/v1/accounts/{ACCOUNT}", headers=auth("admin"))

    assert_problem(r, 405, "method_not_allowed")


async def test_the_largest_allowed_amount_is_accepted(client, db):
    r = await client.post(
        GRANTS,
        json={"amount": 10**12, **GRANT},
        headers={**auth("admin"), "Idempotency-Key": "big"},
    )

    assert r.status_code == 201, r.text
    assert (await assert_invariants(db, ACCOUNT))["balance"] == 10**12


async def test_a_255_character_idempotency_key_is_accepted(client, db):
    await make_account(client, ACCOUNT, 100)

    r = await client.post(
        DEBITS, json={"amount": 1}, headers={**auth("admin"), "Idempotency-Key": "k" * 255}
    )

    assert r.status_code == 201, r.text
    await assert_invariants(db, ACCOUNT)


async def test_metadata_with_50_keys_is_accepted(client, db):
    await make_account(client, ACCOUNT, 100)

    r = await client.post(
        DEBITS,
        json={"amount": 1, "metadata": {f"k{i}": i for i in range(50)}},
        headers={**auth("admin"), "Idempotency-Key": "m"},
    )

    assert r.status_code == 201, r.text
    assert len(r.json()["entry"]["metadata"]) == 50
    await assert_invariants(db, ACCOUNT)


async def test_oversized_body_is_413_and_writes_nothing(client, db):
    await make_account(client, "user_1", 100)
    before = await snapshot(db)

    r = await client.post(
        "/v1/accounts/user_1/debits",
        content=b'{"amount": 1, "description": "' + b"x" * 70_000 + b'"}',
        headers={**auth("worker"), "Idempotency-Key": "big-1", "Content-Type": "application/json"},
    )

    assert_problem(r, 413, "payload_too_large")
    assert await snapshot(db) == before
