"""A refused request carries its numbers as fields of the problem, not only in its prose: a
program reads `requested` and `available` from a 402 without parsing `detail`."""

from __future__ import annotations

from tests.factories import (
    adjust,
    assert_invariants,
    assert_problem,
    capture,
    debit,
    make_account,
    release,
    reserve,
    snapshot,
)
from tests.support.settings import auth


async def test_insufficient_credits_carries_requested_available_balance_reserved(client, db):
    await make_account(client, "user_1", 105)
    assert (await reserve(client, "user_1", 20)).status_code == 201
    before = await snapshot(db)

    body = assert_problem(await debit(client, "user_1", 100000), 402, "insufficient_credits")

    assert (body["requested"], body["available"], body["balance"], body["reserved"]) == (
        100000,
        85,
        105,
        20,
    )
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_a_hold_too_large_carries_the_same_figures(client, db):
    await make_account(client, "user_1", 30)

    body = assert_problem(await reserve(client, "user_1", 31), 402, "insufficient_credits")

    assert {k: body[k] for k in ("requested", "available", "balance", "reserved")} == {
        "requested": 31,
        "available": 30,
        "balance": 30,
        "reserved": 0,
    }


async def test_negative_balance_carries_the_balance_and_nothing_available(client, db):
    await make_account(client, "user_1", 10)
    assert (await adjust(client, "user_1", -25)).status_code == 201

    body = assert_problem(await debit(client, "user_1", 3), 403, "negative_balance")

    assert (body["requested"], body["available"], body["balance"], body["reserved"]) == (
        3,
        0,
        -15,
        0,
    )


async def test_a_capture_over_its_hold_carries_requested_and_held(client, db):
    await make_account(client, "user_1", 50)
    hold = (await reserve(client, "user_1", 20)).json()

    body = assert_problem(await capture(client, hold["id"], 21), 422, "validation_error")

    assert (body["requested"], body["held"]) == (21, 20)


async def test_a_resolved_hold_says_what_became_of_it(client, db):
    await make_account(client, "user_1", 50)
    hold = (await reserve(client, "user_1", 20)).json()
    assert (await release(client, hold["id"])).status_code == 200

    body = assert_problem(await capture(client, hold["id"]), 409, "reservation_not_held")

    assert (body["reservation_id"], body["reservation_status"]) == (hold["id"], "released")


async def test_the_document_declares_the_figures_and_shows_them_in_the_402_example(client):
    doc = (await client.get("/openapi.json", headers=auth())).json()

    problem = doc["components"]["schemas"]["Problem"]["properties"]
    for name in ("requested", "available", "balance", "reserved"):
        assert problem[name]["type"] == "integer" and problem[name]["description"]
    debits = doc["paths"]["/v1/accounts/{account_id}/debits"]["post"]["responses"]
    example = debits["402"]["content"]["application/problem+json"]["examples"]
    value = example["insufficient_credits"]["value"]
    assert (value["requested"], value["available"]) == (100000, 85)
