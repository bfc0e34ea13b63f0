"""A dispute that arrives before its payment is linked to an invoice (no STRIPE_API_KEY to ask
Stripe): ignored for now, and looked at again when the link arrives, whichever event brings
it (`invoice_payment.paid` in the current layout, the paid invoice naming its charge in the
legacy one, or the invoice applied after its payment was linked)."""

import pytest
from stripe_fixtures.disputes import dispute
from stripe_fixtures.invoice_payments import invoice_payment

from tests.factories import assert_invariants, live_grants
from tests.webhooks.helpers import access, entry_by_key, get_account
from tests.webhooks.shapes_story import MONTH, STARTER, Story, shapes_catalog


@pytest.fixture
async def client(app_with):
    return (await app_with(shapes_catalog()))[1]


def _opened(story: Story) -> dict:
    return dispute(
        charge="ch_1", payment_intent="pi_1", amount=1000, created=story.now, dispute_id="dp_1"
    )


async def _stored_of_type(db, type: str) -> dict:
    return await db["stripe_events"].find_one({"type": type})


async def _assert_active_starter(client, balance: int, grants: list[int]) -> dict:
    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["subscription_status"], acc["balance"]) == (
        "starter",
        "active",
        balance,
    )
    assert [g["amount"] for g in await live_grants(client, "user_1")] == grants
    return acc


async def test_a_dispute_before_invoice_payment_paid_suspends_when_the_link_arrives(
    client, db, clock
):
    """Stripe: "Disputes" (charge.dispute.created names the charge and payment intent),
    "Invoice payments" (since 2025-03-31 an invoice names no payment; invoice_payment.paid
    links them) and "Event delivery" (no order is guaranteed: the dispute may come first)."""
    story = Story(client, clock, "current")
    first = await story.subscribe(STARTER)
    clock.advance(days=5)
    opened = _opened(story)

    assert await story.send("charge.dispute.created", opened) == "ignored"
    assert (await access(client, "user_1"))["allowed"] is True
    assert (
        await story.send(
            "invoice_payment.paid",
            invoice_payment(
                invoice=first["id"], payment_intent="pi_1", amount=1000, created=story.now
            ),
        )
        == "processed"
    )

    acc = await _assert_active_starter(client, 1000, [1000])
    assert acc["suspended_reason"] == "disputed"
    decision = await access(client, "user_1")
    assert (decision["allowed"], decision["reason"]) == (False, "disputed")
    assert (await _stored_of_type(db, "charge.dispute.created"))["status"] == "processed"
    await assert_invariants(db, "user_1")


async def test_a_dispute_opened_and_lost_before_the_link_is_applied_in_order_then(
    client, db, clock
):
    """Stripe: "Disputes" (a lost dispute, `status: lost` on charge.dispute.closed, takes the
    payment back) and "Invoice payments" (invoice_payment.paid delivered last)."""
    story = Story(client, clock, "current")
    first = await story.subscribe(STARTER)
    clock.advance(days=5)
    opened = _opened(story)
    assert await story.send("charge.dispute.created", opened) == "ignored"
    clock.advance(days=20)
    assert await story.send("charge.dispute.closed", {**opened, "status": "lost"}) == "ignored"

    assert (
        await story.send(
            "invoice_payment.paid",
            invoice_payment(
                invoice=first["id"], payment_intent="pi_1", amount=1000, created=story.now
            ),
        )
        == "processed"
    )

    acc = await _assert_active_starter(client, 0, [])
    assert acc["suspended_reason"] is None
    entry = await entry_by_key(db, "user_1", "dispute:dp_1")
    assert (entry["type"], entry["amount"]) == ("clawback", -1000)
    decision = await access(client, "user_1")
    assert (decision["allowed"], decision["reason"]) == (False, "insufficient_credits")
    for type in ("charge.dispute.created", "charge.dispute.closed"):
        assert (await _stored_of_type(db, type))["status"] == "processed"
    await assert_invariants(db, "user_1")


async def test_a_dispute_before_the_invoice_whose_payment_was_linked_first(client, db, clock):
    """Stripe: "Invoice payments" (invoice_payment.paid may come before invoice.paid) and
    "Disputes"; the invoice, applied last, brings the account."""
    story = Story(client, clock, "current")
    await story.checkout()
    start = story.now
    assert (
        await story.send(
            "customer.subscription.created",
            story.subscription([(STARTER, 1)], start, start + MONTH),
        )
        == "processed"
    )
    first = story.invoice([story.plan(STARTER, start, start + MONTH)], "subscription_create")
    paid = invoice_payment(invoice=first["id"], payment_intent="pi_1", amount=1000, created=start)
    assert await story.send("invoice_payment.paid", paid) == "processed"
    assert await story.send("charge.dispute.created", _opened(story)) == "ignored"

    assert await story.send("invoice.paid", first) == "processed"

    acc = await _assert_active_starter(client, 1000, [1000])
    assert acc["suspended_reason"] == "disputed"
    assert (await access(client, "user_1"))["reason"] == "disputed"
    await assert_invariants(db, "user_1")


async def test_a_dispute_before_the_legacy_invoice_naming_its_charge(client, db, clock):
    """Stripe, API versions before 2025-03-31: the paid invoice names its `charge` and
    `payment_intent` ("Invoices" object); "Disputes"; "Event delivery" (any order)."""
    story = Story(client, clock, "legacy")
    await story.checkout()
    start = story.now
    assert (
        await story.send(
            "customer.subscription.created",
            story.subscription([(STARTER, 1)], start, start + MONTH),
        )
        == "processed"
    )
    opened = _opened(story)
    assert await story.send("charge.dispute.created", opened) == "ignored"
    assert "looked at again" in (await _stored_of_type(db, "charge.dispute.created"))["note"]

    first = story.invoice(
        [story.plan(STARTER, start, start + MONTH)],
        "subscription_create",
        payment_intent="pi_1",
        charge="ch_1",
    )
    assert await story.send("invoice.paid", first) == "processed"

    acc = await _assert_active_starter(client, 1000, [1000])
    assert acc["suspended_reason"] == "disputed"
    assert (await access(client, "user_1"))["reason"] == "disputed"
    await assert_invariants(db, "user_1")
