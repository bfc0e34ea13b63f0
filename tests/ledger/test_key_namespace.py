"""Keys the service derives for itself (from Stripe objects, from yearly plans' months) are its
own: no key given through the API or the console can match one, so a caller can never make a
real Stripe event answer `duplicate` and grant nothing."""

from __future__ import annotations

import pytest
from stripe_fixtures import MONTH, StripeEvents

from app.ledger.idempotency import DERIVED_KEY_PREFIXES
from app.storage.database import LEDGER
from tests.console.helpers import account_form, sign_in
from tests.factories import assert_problem, make_account, snapshot
from tests.support.settings import auth
from tests.webhooks.helpers import STARTER, entry_by_key, send_ok, subscribe

WRITES = [
    ("/v1/accounts/user_1/debits", {"amount": 1}),
    ("/v1/accounts/user_1/reservations", {"amount": 1}),
    ("/v1/accounts/user_1/grants", {"amount": 1, "kind": "bonus"}),
    ("/v1/accounts/user_1/adjustments", {"amount": 1, "reason": "r"}),
]


@pytest.fixture
def events(clock) -> StripeEvents:
    return StripeEvents("endive", now=int(clock.now().timestamp()))


@pytest.mark.parametrize("prefix", DERIVED_KEY_PREFIXES)
async def test_no_api_key_may_start_with_a_derived_prefix(client, db, prefix):
    await make_account(client, "user_1", 10)
    before = await snapshot(db)

    for path, body in WRITES:
        for key in (f"{prefix}in_1", f"{prefix.upper()}in_1"):
            response = await client.post(
                path, json=body, headers={**auth(), "Idempotency-Key": key}
            )
            assert_problem(response, 400, "idempotency_key_invalid")

    assert await snapshot(db) == before


@pytest.mark.parametrize("prefix", DERIVED_KEY_PREFIXES)
@pytest.mark.parametrize("form_id", ["grant-form", "adjust-form"])
async def test_no_console_form_key_may_start_with_a_derived_prefix(client, db, prefix, form_id):
    await make_account(client, "user_1", 10)
    await sign_in(client)
    form = await account_form(client, "user_1", form_id)
    before = await snapshot(db)
    path = "grants" if form_id == "grant-form" else "adjustments"

    response = await client.post(
        f"/console/accounts/user_1/{path}",
        data={
            **form,
            "idempotency_key": f"{prefix}in_1",
            "amount": "50",
            "kind": "bonus",
            "reason": "r",
        },
    )

    assert "error=" in response.headers["location"] and "reserved" in response.headers["location"]
    assert await snapshot(db) == before


async def test_a_console_grant_keyed_like_an_invoice_leaves_the_invoice_its_credits(
    client, db, events
):
    period = await subscribe(client, events, price=STARTER)
    renewal = events.invoice_event(
        "invoice.paid",
        customer="cus_1",
        subscription="sub_1",
        price=STARTER,
        billing_reason="subscription_cycle",
        period_start=period["end"],
        period_end=period["end"] + MONTH,
    )
    key = f"invoice:{renewal['data']['object']['id']}"
    await sign_in(client)
    form = await account_form(client, "user_1", "grant-form")
    await client.post(
        "/console/accounts/user_1/grants",
        data={
            **form,
            "idempotency_key": key,
            "amount": "1",
            "kind": "bonus",
            "reason": "a key that looks like Stripe's",
        },
    )

    assert await send_ok(client, renewal) == "processed"

    entry = await entry_by_key(db, "user_1", key)
    assert entry["amount"] == 1000 and not entry.get("actor", "").startswith("console:")


async def test_every_key_the_service_derives_has_a_reserved_prefix(client, db, events):
    await subscribe(client, events, price=STARTER)
    await make_account(client, "user_2", 10)

    keys = {
        entry["idempotency_key"]
        for entry in await db[LEDGER].find({}).to_list(None)
        if entry.get("idempotency_key") and entry.get("actor") == "stripe"
    }

    assert keys and all(key.startswith(DERIVED_KEY_PREFIXES) for key in keys), keys
