"""Both payload layouts: the same customer life told in the endive (basil) shape and in the
pre-basil shape ends in the same state."""

import pytest
from stripe_fixtures import MONTH, StripeEvents

from tests.factories import assert_invariants, debit
from tests.webhooks.helpers import (
    PRO,
    STARTER,
    advance,
    get_account,
    pack_checkout,
    renewal_invoice,
    same_time,
    send_ok,
    state,
    stored_event,
)


class Customer:
    """One customer's ids and event factory, in one shape."""

    def __init__(self, shape: str, now: int) -> None:
        self.events = StripeEvents(shape, now=now)
        self.account, self.customer, self.sub = f"user_{shape}", f"cus_{shape}", f"sub_{shape}"
        self.pi, self.pack_pi = f"pi_{shape}", f"pi_pack_{shape}"
        self.ids = {"customer": self.customer, "subscription": self.sub}


def _life(c: Customer, start: int) -> list:
    """A customer's life as (days to advance first, event builder or debit amount)."""
    ev = c.events
    period = {"subscription_id": c.sub, "customer": c.customer}
    first, second, third = start, start + MONTH, start + 2 * MONTH
    failed_invoice = ev.new_id("in")
    return [
        (0, lambda: ev.checkout_session_completed(account_id=c.account, **c.ids)),
        (
            0,
            lambda: ev.subscription_event(
                "created", price=STARTER, period_start=first, period_end=second, **period
            ),
        ),
        (
            0,
            lambda: ev.invoice_event(
                "invoice.paid",
                price=STARTER,
                payment_intent=c.pi,
                billing_reason="subscription_create",
                period_start=first,
                period_end=second,
                **c.ids,
            ),
        ),
        (0, 300),
        (
            10,
            lambda: ev.subscription_event(
                "updated", price=PRO, period_start=first, period_end=second, **period
            ),
        ),
        (20, lambda: renewal_invoice(ev, period_start=second, price=PRO, **c.ids)),
        (
            0,
            lambda: ev.subscription_event(
                "updated", price=PRO, period_start=second, period_end=third, **period
            ),
        ),
        (0, 1200),
        (
            30,
            lambda: renewal_invoice(
                ev,
                period_start=third,
                price=PRO,
                invoice_id=failed_invoice,
                type="invoice.payment_failed",
                **c.ids,
            ),
        ),
        (
            1,
            lambda: renewal_invoice(
                ev, period_start=third, price=PRO, invoice_id=failed_invoice, **c.ids
            ),
        ),
        (
            0,
            lambda: pack_checkout(
                ev, account=c.account, customer=c.customer, payment_intent=c.pack_pi
            ),
        ),
        (0, lambda: ev.charge_refunded(payment_intent=c.pack_pi, amount=1000, amount_refunded=500)),
        (0, lambda: ev.dispute_event("created", payment_intent=c.pi, dispute_id=f"dp_{c.pi}")),
        (
            2,
            lambda: ev.dispute_event(
                "closed", payment_intent=c.pi, dispute_id=f"dp_{c.pi}", status="won"
            ),
        ),
        (
            0,
            lambda: ev.subscription_event(
                "updated",
                price=PRO,
                period_start=third,
                period_end=third + MONTH,
                cancel_at_period_end=True,
                **period,
            ),
        ),
    ]


async def test_endive_and_legacy_shapes_produce_the_same_state(client, db, clock, events):
    start = events.now
    endive, legacy = Customer("endive", start), Customer("legacy", start)
    statuses: dict[str, list[str]] = {"endive": [], "legacy": []}
    for (days, e_step), (_, l_step) in zip(_life(endive, start), _life(legacy, start), strict=True):
        if days:
            advance(clock, endive.events, days=days)
            legacy.events.now = endive.events.now
        for c, step in ((endive, e_step), (legacy, l_step)):
            if isinstance(step, int):
                assert (await debit(client, c.account, step)).status_code == 201
                continue
            event = step()
            assert event["api_version"] == c.events.api_version
            statuses[c.events.shape].append(await send_ok(client, event))

    assert statuses["endive"] == statuses["legacy"]
    assert "failed" not in statuses["endive"] and "parked" not in statuses["endive"]
    final = await state(client, "user_endive")
    assert final == await state(client, "user_legacy")
    assert [(g["kind"], g["remaining"]) for g in final["grants"]] == [
        ("rollover", 2000),
        ("subscription", 5000),
        ("purchase", 250),
    ]
    acc = await get_account(client, "user_endive")
    assert (acc["plan"], acc["subscription_status"]) == ("pro", "active")
    assert acc["cancel_at"] is not None and acc["suspended_reason"] is None
    await assert_invariants(db, "user_endive")
    await assert_invariants(db, "user_legacy")


@pytest.mark.parametrize("shape", ["endive", "legacy"])
async def test_invoice_subscription_metadata_names_the_account_in_either_shape(
    client, db, clock, shape
):
    ev = StripeEvents(shape, now=int(clock.now().timestamp()))
    invoice = ev.invoice_event(
        "invoice.paid",
        customer="cus_1",
        subscription="sub_1",
        price=STARTER,
        billing_reason="subscription_create",
        subscription_metadata={"account_id": "user_1"},
    )

    assert await send_ok(client, invoice) == "processed"

    acc = await get_account(client, "user_1")
    assert (acc["balance"], acc["stripe_subscription_id"]) == (1000, "sub_1")
    assert (await stored_event(db, invoice["id"]))["api_version"] == ev.api_version
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("shape", ["endive", "legacy"])
async def test_subscription_period_is_read_in_either_shape(client, db, clock, shape):
    ev = StripeEvents(shape, now=int(clock.now().timestamp()))
    await send_ok(client, ev.checkout_session_completed(customer="cus_1", account_id="user_1"))

    await send_ok(
        client,
        ev.subscription_event(
            "created",
            subscription_id="sub_1",
            customer="cus_1",
            price=PRO,
            period_start=ev.now - 100,
            period_end=ev.now - 100 + MONTH,
        ),
    )

    acc = await get_account(client, "user_1")
    assert acc["plan"] == "pro"
    assert same_time(acc["current_period_end"], ev.now - 100 + MONTH)
    await assert_invariants(db, "user_1")


async def test_endive_invoice_without_payments_still_grants(client, db, events):
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))

    await send_ok(
        client,
        events.invoice_event(
            "invoice.paid",
            customer="cus_1",
            subscription="sub_1",
            price=STARTER,
            billing_reason="subscription_create",
            include_payments=False,
        ),
    )

    assert (await get_account(client, "user_1"))["balance"] == 1000
    await assert_invariants(db, "user_1")
