"""Plan and seat changes inside one paid period: the period is entitled to the highest plan
(x seats) in force from each moment, prorated; a downgrade and an upgrade back, or seats
cycled up and down, grant nothing beyond that."""

import pytest
from stripe_fixtures import LAYOUTS

from tests.factories import assert_invariants
from tests.webhooks.helpers import get_account
from tests.webhooks.shapes_story import GROWTH, MONTH, STARTER, TEAM_SEAT, Story, shapes_catalog


@pytest.fixture
async def client(app_with):
    return (await app_with(shapes_catalog()))[1]


async def _change(story: Story, start: int, items: list[tuple[str, int]]) -> None:
    snapshot = story.subscription(items, start, start + MONTH)
    assert await story.send("customer.subscription.updated", snapshot) == "processed"


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_a_downgrade_then_an_upgrade_back_in_one_period_grants_nothing_more(
    client, db, clock, layout
):
    """Stripe: "Upgrade and downgrade subscriptions" (docs.stripe.com/billing/subscriptions/
    change-price) with the default `proration_behavior: create_prorations`: each change is a
    `customer.subscription.updated` whose prorations the customer pays at the next invoice;
    down then up again costs about nothing, so it may earn nothing."""
    story = Story(client, clock, layout)
    start = story.now
    await story.subscribe(GROWTH)
    for _ in range(3):
        clock.advance(days=2)
        await _change(story, start, [(STARTER, 1)])
        clock.advance(days=2)
        await _change(story, start, [(GROWTH, 1)])

    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["balance"]) == ("growth", 4000)
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_seats_cycled_down_and_up_grant_only_the_highest_count_once(
    client, db, clock, layout
):
    """Stripe: "Change the quantity" (docs.stripe.com/billing/subscriptions/quantities): each
    new quantity is a `customer.subscription.updated`, prorated by Stripe from that moment."""
    story = Story(client, clock, layout)
    start = story.now
    await story.subscribe(TEAM_SEAT, quantity=3)
    clock.advance(days=10)
    await _change(story, start, [(TEAM_SEAT, 5)])  # +2 seats for 20 of 30 days
    for _ in range(4):
        clock.advance(days=1)
        await _change(story, start, [(TEAM_SEAT, 1)])
        await _change(story, start, [(TEAM_SEAT, 5)])

    assert (await get_account(client, "user_1"))["balance"] == 3000 + 2000 * 20 // 30
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_a_second_upgrade_adds_only_its_own_raise_from_its_own_time(
    client, db, clock, layout
):
    """Two upgrades in one period: each raise is prorated from when it took effect."""
    story = Story(client, clock, layout)
    start = story.now
    await story.subscribe(TEAM_SEAT, quantity=1)
    clock.advance(days=6)
    await _change(story, start, [(TEAM_SEAT, 2)])
    clock.advance(days=12)
    await _change(story, start, [(TEAM_SEAT, 4)])

    # 1000 + 1000 x 24/30 + 2000 x 12/30, floored once.
    assert (await get_account(client, "user_1"))["balance"] == 1000 + 800 + 800
    await assert_invariants(db, "user_1")
