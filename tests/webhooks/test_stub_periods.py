"""A first invoice up to a future billing-cycle anchor bills a prorated stub: its credits are
the plan's in the share Stripe billed (the line's amount over the price), whether or not
Stripe flags the stub's line as a proration; the anchor's renewal is a whole period."""

import pytest
from stripe_fixtures import LAYOUTS
from stripe_fixtures.invoices import proration_line

from tests.factories import assert_invariants, live_grants
from tests.webhooks.helpers import get_account, same_time
from tests.webhooks.shapes_story import DAY, MONTH, NAMES, STARTER, UNIT, Story, shapes_catalog

STUB_DAYS = 12  # 2026-11-01 to 11-13: 12 of the 31 days of the month before the anchor
BILLED = UNIT[STARTER] * STUB_DAYS // 31  # what Stripe bills for it: 387 of 1000


@pytest.fixture
async def client(app_with):
    return (await app_with(shapes_catalog()))[1]


def _stub_line(story: Story, start: int, anchor: int, *, flagged: bool):
    if flagged:
        return proration_line(
            STARTER, BILLED, start=start, end=anchor, subscription=story.sub, name=NAMES[STARTER]
        )
    line = story.plan(STARTER, start, anchor)
    line.amount = BILLED
    return line


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("flagged", [True, False], ids=["proration-line", "plain-line"])
async def test_a_stub_to_a_future_anchor_grants_its_billed_share_then_the_anchor_a_whole_period(
    client, db, clock, layout, flagged
):
    """Stripe: "Set the billing cycle date" for new subscriptions (docs.stripe.com/billing/
    subscriptions/billing-cycle#new-subscriptions): with `billing_cycle_anchor` in the future
    Stripe bills a prorated amount for the time up to the anchor on the first invoice
    (`subscription_create`), then whole periods from the anchor (`subscription_cycle`)."""
    story = Story(client, clock, layout)
    start = story.now
    anchor = start + STUB_DAYS * DAY
    await story.checkout()
    created = story.subscription([(STARTER, 1)], start, anchor)
    assert await story.send("customer.subscription.created", created) == "processed"

    first = story.invoice(
        [_stub_line(story, start, anchor, flagged=flagged)], "subscription_create"
    )
    assert await story.send("invoice.paid", first) == "processed"

    acc = await get_account(client, "user_1")
    credits = 1000 * BILLED // UNIT[STARTER]  # starter's 1000 in the share billed: 387
    assert (acc["subscription_status"], acc["plan"], acc["balance"]) == (
        "active",
        "starter",
        credits,
    )
    assert same_time(acc["current_period_end"], anchor)

    clock.advance(days=STUB_DAYS)
    renewal = story.invoice([story.plan(STARTER, anchor, anchor + MONTH)], "subscription_cycle")
    assert await story.send("invoice.paid", renewal) == "processed"

    amounts = sorted((g["kind"], g["amount"]) for g in await live_grants(client, "user_1"))
    assert amounts == [("rollover", 300), ("subscription", 1000)]  # starter carries <= 300
    await assert_invariants(db, "user_1")
