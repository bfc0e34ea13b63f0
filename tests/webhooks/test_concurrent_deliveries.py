"""Stripe delivers one event several times at once (and both invoice events of one payment):
applied once, every other delivery answered as a duplicate, under many seeded interleavings
(tests/interleavings.py), each on a customer and account of its own."""

import asyncio

import pytest
from stripe_fixtures import MONTH

from tests.factories import assert_invariants
from tests.interleavings import SEEDS, assert_contended, interleaved, reruns
from tests.support.verify import assert_verified
from tests.webhooks.helpers import get_account, send, send_ok, stored_event

pytestmark = pytest.mark.slow  # many seeded interleavings

AT_ONCE = 5


def _activation_invoice(events, seed: int, **kw) -> dict:
    return events.invoice_event(
        kw.pop("type", "invoice.paid"),
        customer=f"cus_{seed}",
        subscription=f"sub_{seed}",
        billing_reason="subscription_create",
        period_start=events.now,
        period_end=events.now + MONTH,
        **kw,
    )


async def _linked(client, events, seed: int) -> str:
    account = f"user_{seed}"
    await send_ok(
        client, events.checkout_session_completed(customer=f"cus_{seed}", account_id=account)
    )
    return account


async def test_one_invoice_delivered_at_once_grants_once(app, client, db, events):
    for seed in SEEDS:
        account = await _linked(client, events, seed)
        invoice = _activation_invoice(events, seed)
        with interleaved(db, seed):
            answers = await asyncio.gather(*(send(client, invoice) for _ in range(AT_ONCE)))

        assert all(r.status_code == 200 for r in answers), seed
        statuses = sorted(r.json()["status"] for r in answers)
        assert statuses == ["duplicate"] * (AT_ONCE - 1) + ["processed"], seed
        assert (await get_account(client, account))["balance"] == 1000
        key = f"invoice:{invoice['data']['object']['id']}"
        assert await db["ledger_entries"].count_documents({"idempotency_key": key}) == 1
        assert await db["grants"].count_documents({"account_id": account}) == 1
        stored = await stored_event(db, invoice["id"])
        assert (stored["status"], stored["attempts"]) == ("processed", 1)
        await assert_invariants(db, account)
        await assert_verified(app)
    assert_contended(db, await reruns(client))


async def test_paid_and_payment_succeeded_of_one_invoice_at_once_grant_once(
    app, client, db, events
):
    for seed in SEEDS:
        account = await _linked(client, events, seed)
        invoice_id = events.new_id("in")
        deliveries = [
            _activation_invoice(events, seed, invoice_id=invoice_id, type=t)
            for t in ("invoice.paid", "invoice.payment_succeeded") * 2
        ]
        with interleaved(db, seed):
            answers = await asyncio.gather(*(send(client, e) for e in deliveries))

        assert sorted(r.json()["status"] for r in answers) == ["duplicate"] * 3 + ["processed"]
        assert (await get_account(client, account))["balance"] == 1000
        await assert_invariants(db, account)
        await assert_verified(app)
    assert_contended(db, await reruns(client))
