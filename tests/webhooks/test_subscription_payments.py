"""Refunds and disputes of a subscription's payment in the current layout, where the invoice
names no charge or payment intent: the link comes from `invoice_payment.paid`, or, when that
never came, from Stripe's API (`GET /v1/invoice_payments`, a real stripe.StripeClient over a
fake HTTP client); the legacy layout's own fields link it too. Shapes: stripe_fixtures."""

import httpx
import pytest
import stripe
from stripe_fixtures.disputes import dispute
from stripe_fixtures.envelope import event
from stripe_fixtures.invoice_payments import invoice_payment

from app.storage.database import PAYMENTS
from tests.factories import assert_invariants, assert_problem, debit
from tests.webhooks.fake_stripe_api import API_KEY, FakeStripeAPI
from tests.webhooks.helpers import entry_by_key, get_account, send, stored_event
from tests.webhooks.shapes_story import STARTER, Story, shapes_catalog


async def _subscribed(client, clock, layout="current", **invoice_kw) -> tuple[Story, dict]:
    story = Story(client, clock, layout)
    first = await story.subscribe(STARTER, **invoice_kw)
    return story, first


async def _dispute_lost(story: Story, *, charge="ch_1", payment_intent: str | None = "pi_1"):
    opened = dispute(
        charge=charge,
        payment_intent=payment_intent,
        amount=1000,
        created=story.now,
        dispute_id="dp_1",
    )
    created = await story.send("charge.dispute.created", opened)
    suspended = await get_account(story.client, "user_1")
    closed = await story.send("charge.dispute.closed", {**opened, "status": "lost"})
    return created, suspended, closed


async def _assert_disputed_then_clawed_back(story, db, created, suspended, closed):
    assert (created, closed) == ("processed", "processed")
    assert suspended["suspended_reason"] == "disputed"
    acc = await get_account(story.client, "user_1")
    assert (acc["suspended_reason"], acc["balance"]) == (None, 0)
    entry = await entry_by_key(db, "user_1", "dispute:dp_1")
    assert (entry["type"], entry["amount"]) == ("clawback", -1000)
    await assert_invariants(db, "user_1")


@pytest.fixture
async def client(app_with):
    return (await app_with(shapes_catalog()))[1]


async def test_lost_dispute_found_through_invoice_payment_paid_suspends_and_claws_back(
    client, db, clock
):
    story, first = await _subscribed(client, clock)
    assert "payments" not in first and "charge" not in first
    paid = invoice_payment(
        invoice=first["id"], payment_intent="pi_1", amount=1000, created=story.now
    )
    assert await story.send("invoice_payment.paid", paid) == "processed"

    created, suspended, closed = await _dispute_lost(story)

    await _assert_disputed_then_clawed_back(story, db, created, suspended, closed)


async def test_access_is_refused_while_a_subscription_payment_is_disputed(client, db, clock):
    story, first = await _subscribed(client, clock)
    await story.send(
        "invoice_payment.paid",
        invoice_payment(invoice=first["id"], payment_intent="pi_1", amount=1000, created=story.now),
    )

    await story.send(
        "charge.dispute.created",
        dispute(charge="ch_1", payment_intent="pi_1", amount=1000, created=story.now),
    )

    body = assert_problem(await debit(client, "user_1", 1), 403, "access_suspended")
    assert body["reason"] == "disputed"
    await assert_invariants(db, "user_1")


async def test_invoice_payment_paid_before_its_invoice_links_the_payment_all_the_same(
    client, db, clock
):
    story = Story(client, clock, "current")
    await story.checkout()
    first = story.invoice(
        [story.plan(STARTER, story.now, story.now + 30 * 86_400)], "subscription_create"
    )
    assert (
        await story.send(
            "invoice_payment.paid",
            invoice_payment(
                invoice=first["id"], payment_intent="pi_1", amount=1000, created=story.now
            ),
        )
        == "processed"
    )
    assert await story.send("invoice.paid", first) == "processed"

    created, suspended, closed = await _dispute_lost(story)

    await _assert_disputed_then_clawed_back(story, db, created, suspended, closed)


async def test_the_legacy_invoice_links_its_own_charge(client, db, clock):
    story, _ = await _subscribed(client, clock, "legacy", payment_intent="pi_1", charge="ch_1")

    created, suspended, closed = await _dispute_lost(story, payment_intent=None)

    await _assert_disputed_then_clawed_back(story, db, created, suspended, closed)


async def test_without_the_link_or_an_api_key_a_dispute_is_ignored(client, db, clock):
    story, _ = await _subscribed(client, clock)
    opened = dispute(charge="ch_1", payment_intent="pi_1", amount=1000, created=story.now)

    assert await story.send("charge.dispute.created", opened) == "ignored"

    assert (await get_account(client, "user_1"))["suspended_reason"] is None
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("named", ["payment_intent", "charge only"])
async def test_lost_dispute_of_an_unlinked_payment_is_found_through_stripes_api(
    app_with, db, clock, named
):
    api = FakeStripeAPI()
    _, client = await app_with(
        shapes_catalog(),
        stripe_client=stripe.StripeClient(API_KEY, http_client=api),
        stripe_api_key=API_KEY,
    )
    story, first = await _subscribed(client, clock)
    api.invoice_payments.append(
        invoice_payment(invoice=first["id"], payment_intent="pi_1", amount=1000, created=story.now)
    )
    api.charges["ch_1"] = {"id": "ch_1", "object": "charge", "payment_intent": "pi_1"}
    payment_intent = "pi_1" if named == "payment_intent" else None

    created, suspended, closed = await _dispute_lost(story, payment_intent=payment_intent)

    await _assert_disputed_then_clawed_back(story, db, created, suspended, closed)
    # Asked once: the link found is kept, so the closing event needs no second look-up.
    listed = [path for path, _ in api.requests if path == "/v1/invoice_payments"]
    assert len(listed) == 1
    doc = await db[PAYMENTS].find_one({"_id": first["id"]})
    assert (doc["payment_intent"], doc["account_id"]) == ("pi_1", "user_1")
    event = await db["stripe_events"].find_one({"type": "charge.dispute.created"})
    assert first["id"] in (await stored_event(db, event["_id"]))["note"]


async def test_a_payment_stripe_knows_no_invoice_of_is_ignored(app_with, db, clock):
    api = FakeStripeAPI()
    _, client = await app_with(
        shapes_catalog(),
        stripe_client=stripe.StripeClient(API_KEY, http_client=api),
        stripe_api_key=API_KEY,
    )
    story, _ = await _subscribed(client, clock)

    status = await story.send(
        "charge.dispute.created",
        dispute(charge="ch_other", payment_intent=None, amount=1000, created=story.now),
    )

    assert status == "ignored"
    assert (await get_account(client, "user_1"))["suspended_reason"] is None
    await assert_invariants(db, "user_1")


async def test_a_refund_of_a_subscription_payment_claws_nothing_back(client, db, clock):
    story, first = await _subscribed(client, clock)
    await story.send(
        "invoice_payment.paid",
        invoice_payment(invoice=first["id"], payment_intent="pi_1", amount=1000, created=story.now),
    )
    refund = {
        "id": "ch_1",
        "object": "charge",
        "amount": 1000,
        "amount_refunded": 1000,
        "customer": "cus_1",
        "payment_intent": "pi_1",
        "refunded": True,
        "status": "succeeded",
        "created": story.now,
        "livemode": False,
    }

    assert await story.send("charge.refunded", refund) == "ignored"

    assert (await get_account(client, "user_1"))["balance"] == 1000
    await assert_invariants(db, "user_1")


async def test_a_stripe_api_error_answers_500_and_stripes_retry_applies_the_dispute(
    app_with, db, clock
):
    api = FakeStripeAPI()
    app, _ = await app_with(
        shapes_catalog(),
        stripe_client=stripe.StripeClient(API_KEY, http_client=api, max_network_retries=0),
        stripe_api_key=API_KEY,
    )
    # A 500 answered, as Stripe sees it, rather than the exception raised into the test.
    client = httpx.AsyncClient(
        base_url="http://test", transport=httpx.ASGITransport(app=app, raise_app_exceptions=False)
    )
    story, first = await _subscribed(client, clock)
    api.invoice_payments.append(
        invoice_payment(invoice=first["id"], payment_intent="pi_1", amount=1000, created=story.now)
    )
    opened = event(
        "current",
        "charge.dispute.created",
        dispute(charge="ch_1", payment_intent="pi_1", amount=1000, created=story.now),
        created=story.now,
    )
    api.down = True

    failed = await send(client, opened)

    assert failed.status_code == 500
    assert (await stored_event(db, opened["id"]))["status"] == "received"
    assert (await get_account(client, "user_1"))["suspended_reason"] is None
    api.down = False  # Stripe's retry of the same event
    retried = await send(client, opened)
    assert (retried.status_code, retried.json()["status"]) == (200, "processed")
    assert (await get_account(client, "user_1"))["suspended_reason"] == "disputed"
    await assert_invariants(db, "user_1")
    await client.aclose()
