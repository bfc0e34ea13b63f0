"""The job buys a recorded top-up at Stripe (the fake) once: the credits arrive once whichever
of the API's answer and the webhook confirms it, in either order, repeated; a job stopped after
Stripe accepted the charge and before recording it charges once when it runs again."""

from __future__ import annotations

import asyncio

import pytest
from stripe_fixtures import StripeEvents

from app.storage.database import LEDGER, TOPUPS
from app.topups.job import LEASE
from tests.events.helpers import types_of
from tests.factories import account, debit, grant
from tests.interleavings import FEW_SEEDS, interleaved
from tests.storage.test_shard_keys import missing_shard_key
from tests.support.verify import assert_verified
from tests.topups.helpers import enable, linked_account, run_job, topups
from tests.webhooks.helpers import send, send_ok


async def low_account(client, clock) -> str:
    await linked_account(client, clock)
    await grant(client, "user_1", 120)
    await enable(client, "user_1", threshold=100)
    assert (await debit(client, "user_1", 30)).status_code == 201  # 120 -> 90: recorded
    return "user_1"


def paid_event(clock, invoice: dict, type_: str = "invoice.paid") -> dict:
    events = StripeEvents("endive", now=int(clock.now().timestamp()))
    return events.event(type_, invoice)


async def crashed_after_accept(app, fake_stripe) -> None:
    """Run the job and stop it (as a killed process stops) once Stripe accepted the payment
    and before its answer is recorded: the top-up stays leased, nothing recorded."""
    task = asyncio.create_task(run_job(app))
    loop = asyncio.get_running_loop()
    fake_stripe.on_accept = lambda: loop.call_soon_threadsafe(task.cancel)
    with pytest.raises(asyncio.CancelledError):
        await task


async def granted_entries(db, invoice_id: str) -> int:
    return await db[LEDGER].count_documents({"idempotency_key": f"invoice:{invoice_id}"})


async def test_the_job_buys_the_pack_once_and_grants_it(app, client, clock, db, fake_stripe):
    db.calls.recorded = []  # every call names its account (ready to shard), checked below
    await low_account(client, clock)
    assert await run_job(app) == 1
    assert await run_job(app) == 0  # nothing more to do
    [topup] = await topups(client, "user_1")
    assert (topup["status"], topup["credits"], topup["amount"]) == ("succeeded", 500, 1000)
    assert (await account(client, "user_1"))["balance"] == 590
    [invoice] = fake_stripe.paid_invoices()
    assert invoice["metadata"] == {"account_id": "user_1", "topup_id": topup["id"]}
    assert invoice["collection_method"] == "charge_automatically"
    assert invoice["lines"]["data"][0]["pricing"]["price_details"]["price"] == "price_boost_500"
    assert topup["stripe_invoice_id"] == invoice["id"]
    assert topup["stripe_payment_intent_id"] == fake_stripe.charges[0]["payment_intent"]
    assert len(fake_stripe.charges) == 1
    steps = {key.rsplit(":", 1)[1]: n for key, n in fake_stripe.keys_seen.items()}
    assert steps == {"invoice": 1, "item": 1, "finalize": 1, "pay": 1}
    assert all(key.startswith(f"topup:{topup['id']}:") for key in fake_stripe.keys_seen)
    types = await types_of(client, "user_1")
    assert types[-2:] == ["credits.granted", "topup.succeeded"]
    recorded, db.calls.recorded = db.calls.recorded, None
    assert TOPUPS in {call.collection for call in recorded}
    assert sorted({wrong for call in recorded for wrong in missing_shard_key(call)}) == []


async def test_answer_first_then_webhooks_repeated_grant_once(app, client, clock, db, fake_stripe):
    await low_account(client, clock)
    assert await run_job(app) == 1
    [invoice] = fake_stripe.paid_invoices()
    for type_ in ("invoice.paid", "invoice.paid", "invoice.payment_succeeded"):
        assert await send_ok(client, paid_event(clock, invoice, type_)) == "duplicate"
    assert await granted_entries(db, invoice["id"]) == 1
    assert (await account(client, "user_1"))["balance"] == 590


async def test_webhook_first_then_the_answer_grants_once(app, client, clock, db, fake_stripe):
    """Stripe accepted, the job stopped before recording; invoice.paid arrives (twice); the
    job's re-run gets Stripe's first answer again (same key), which is then a duplicate."""
    await low_account(client, clock)
    await crashed_after_accept(app, fake_stripe)
    [invoice] = fake_stripe.paid_invoices()
    assert await send_ok(client, paid_event(clock, invoice)) == "processed"
    assert await send_ok(client, paid_event(clock, invoice)) == "duplicate"
    assert [t["status"] for t in await topups(client, "user_1")] == ["succeeded"]
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await run_job(app) == 0  # succeeded already: nothing is due
    assert await granted_entries(db, invoice["id"]) == 1
    assert (await account(client, "user_1"))["balance"] == 590
    assert len(fake_stripe.charges) == 1


async def test_a_crash_after_stripe_accepted_then_a_rerun_charges_once(
    app, client, clock, db, fake_stripe
):
    await low_account(client, clock)
    await crashed_after_accept(app, fake_stripe)
    [topup] = await topups(client, "user_1")
    assert topup["status"] == "processing"
    assert await run_job(app) == 0  # its lease holds: no second worker calls Stripe
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await run_job(app) == 1
    pay_key = f"topup:{topup['id']}:pay"
    assert fake_stripe.keys_seen[pay_key] == 2  # one key, used twice
    assert len(fake_stripe.charges) == 1 and len(fake_stripe.paid_invoices()) == 1
    [topup] = await topups(client, "user_1")
    assert topup["status"] == "succeeded"
    assert (await account(client, "user_1"))["balance"] == 590
    # The webhook after both is a duplicate.
    invoice = fake_stripe.paid_invoices()[0]
    assert await send_ok(client, paid_event(clock, invoice)) == "duplicate"
    assert await granted_entries(db, invoice["id"]) == 1


async def test_a_refund_of_a_top_up_claws_it_back(app, client, clock, db, fake_stripe):
    await low_account(client, clock)
    assert await run_job(app) == 1
    charge = fake_stripe.charges[0]
    events = StripeEvents("endive", now=int(clock.now().timestamp()))
    half = events.charge_refunded(
        charge_id=charge["id"],
        payment_intent=charge["payment_intent"],
        amount=1000,
        amount_refunded=500,
        customer="cus_1",
    )
    assert await send_ok(client, half) == "processed"
    assert (await account(client, "user_1"))["balance"] == 590 - 250
    full = events.charge_refunded(
        charge_id=charge["id"],
        payment_intent=charge["payment_intent"],
        amount=1000,
        customer="cus_1",
    )
    assert await send_ok(client, full) == "processed"
    assert await send_ok(client, full) == "duplicate"
    assert (await account(client, "user_1"))["balance"] == 90
    clawbacks = await db[LEDGER].find({"account_id": "user_1", "type": "clawback"}).to_list(None)
    assert sorted(e["amount"] for e in clawbacks) == [-250, -250]
    # 590 -> 90 by refunds crosses the line, and buys nothing: the customer asked for money back.
    [topup] = await topups(client, "user_1")
    grant_id = clawbacks[0]["grants"][0]["grant_id"]  # taken from the top-up's own grant
    top_up_grant = await db["grants"].find_one({"_id": grant_id, "account_id": "user_1"})
    assert top_up_grant["source"] == f"stripe:invoice:{topup['stripe_invoice_id']}"


async def test_the_next_crossing_after_a_success_buys_again(app, client, clock, db, fake_stripe):
    await low_account(client, clock)
    assert await run_job(app) == 1  # 590
    assert (await debit(client, "user_1", 500)).status_code == 201  # 590 -> 90: a new round
    assert await run_job(app) == 1
    assert [t["status"] for t in await topups(client, "user_1")] == ["succeeded", "succeeded"]
    assert (await account(client, "user_1"))["balance"] == 590
    assert len(fake_stripe.charges) == 2


async def test_target_balance_buys_whole_packs_up_to_it(app, client, clock, db, fake_stripe):
    await linked_account(client, clock)
    await grant(client, "user_1", 120)
    await enable(client, "user_1", threshold=100, target_balance=1000)
    assert (await debit(client, "user_1", 30)).status_code == 201  # 90: 910 short, 2 packs
    assert await run_job(app) == 1
    [topup] = await topups(client, "user_1")
    assert (topup["quantity"], topup["credits"], topup["amount"]) == (2, 1000, 2000)
    assert (await account(client, "user_1"))["balance"] == 1090


async def test_answer_and_webhooks_racing_grant_once_under_interleavings(
    app, client, clock, db, fake_stripe
):
    """The job's re-run (Stripe's answer) and three deliveries of invoice.paid at once, under
    seeded interleavings of their units of work: one grant per invoice, whatever the order."""
    for seed in FEW_SEEDS:
        account_id, customer = f"user_{seed}", f"cus_{seed}"
        fake_stripe.add_customer(customer)
        await linked_account(client, clock, account_id, customer)
        await grant(client, account_id, 120)
        await enable(client, account_id, threshold=100)
        assert (await debit(client, account_id, 30)).status_code == 201
        await crashed_after_accept(app, fake_stripe)
        invoice = fake_stripe.paid_invoices()[-1]
        clock.advance(seconds=LEASE.total_seconds() + 1)
        with interleaved(db, seed):
            answers = await asyncio.gather(
                run_job(app), *(send(client, paid_event(clock, invoice)) for _ in range(3))
            )
        assert answers[0] == 1
        statuses = sorted(r.json()["status"] for r in answers[1:])
        assert statuses in (["duplicate"] * 3, ["duplicate", "duplicate", "processed"]), seed
        assert await granted_entries(db, invoice["id"]) == 1, seed
        assert (await account(client, account_id))["balance"] == 590, seed
        await assert_verified(app)
    assert len(fake_stripe.charges) == len(FEW_SEEDS)
