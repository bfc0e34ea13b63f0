"""Several subscriptions on one account (a double checkout that support cancels, say): each
has its own status, plan, periods and grants; the account's standing and access come from
all of them (allowed while any allows it)."""

import pytest
from stripe_fixtures import LAYOUTS

from tests.factories import assert_invariants, live_grants
from tests.webhooks.helpers import get_account
from tests.webhooks.periods_story import access
from tests.webhooks.shapes_story import GROWTH, MONTH, STARTER, Story, shapes_catalog


@pytest.fixture
async def client(app_with):
    return (await app_with(shapes_catalog()))[1]


async def _two_subscriptions(client, clock, layout) -> tuple[Story, Story, int]:
    first = Story(client, clock, layout, sub="sub_1")
    second = Story(client, clock, layout, sub="sub_2")
    start = first.now
    await first.subscribe(STARTER)
    clock.advance(seconds=90)
    await second.subscribe(GROWTH)
    return first, second, start


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_cancelling_one_of_two_subscriptions_keeps_the_others_credits_and_access(
    client, db, clock, layout
):
    """Stripe: "Cancel subscriptions" (docs.stripe.com/billing/subscriptions/cancel): a
    cancellation sends `customer.subscription.deleted` for that subscription only; a customer
    may hold several subscriptions (docs.stripe.com/billing/subscriptions/multiple-products)."""
    first, second, _ = await _two_subscriptions(client, clock, layout)
    assert (await get_account(client, "user_1"))["balance"] == 1000 + 4000
    clock.advance(days=1)

    gone = second.subscription([(GROWTH, 1)], second.now - 86_490, second.now, status="canceled")
    assert await second.send("customer.subscription.deleted", gone) == "processed"

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["plan"]) == ("active", "starter")
    assert acc["stripe_subscription_id"] == "sub_1"
    assert acc["balance"] == 1000
    assert [g["amount"] for g in await live_grants(client, "user_1")] == [1000]
    assert (await access(client))["allowed"] is True
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_a_failed_renewal_of_one_subscription_leaves_access_while_another_is_paid(
    client, db, clock, layout
):
    """Stripe: "Failed payments" (docs.stripe.com/billing/subscriptions/overview#failed-
    payments): `invoice.payment_failed` makes that subscription `past_due`; the account keeps
    access through its other, paid subscription, beyond the grace days."""
    first, second, start = await _two_subscriptions(client, clock, layout)
    clock.advance(days=30)
    renewal = first.invoice(
        [first.plan(STARTER, start + MONTH, start + 2 * MONTH)], "subscription_cycle"
    )
    assert await first.send("invoice.paid", renewal) == "processed"
    clock.advance(hours=2)
    failed = second.invoice(
        [second.plan(GROWTH, start + MONTH + 90, start + 2 * MONTH + 90)],
        "subscription_cycle",
        paid=False,
    )
    assert await second.send("invoice.payment_failed", failed) == "processed"
    clock.advance(days=5)  # past the failed one's grace

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["stripe_subscription_id"]) == ("active", "sub_1")
    assert acc["suspended_reason"] is None
    assert (await access(client))["allowed"] is True
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_the_account_shows_canceled_only_when_every_subscription_is(
    client, db, clock, layout
):
    first, second, start = await _two_subscriptions(client, clock, layout)
    clock.advance(days=2)
    for story, price in ((first, STARTER), (second, GROWTH)):
        gone = story.subscription([(price, 1)], start, start + MONTH, status="canceled")
        assert await story.send("customer.subscription.deleted", gone) == "processed"

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["balance"]) == ("canceled", 0)
    await assert_invariants(db, "user_1")
