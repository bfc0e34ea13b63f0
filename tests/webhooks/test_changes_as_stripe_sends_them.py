"""Renewals after a mid-period change, and seats, as Stripe lays them out (default
`proration_behavior: create_prorations`): the change's proration lines come first on the
renewal invoice, then the new period's line, which alone sets the plan, period and credits."""

import pytest
from stripe_fixtures import LAYOUTS
from stripe_fixtures.invoices import proration_line

from tests.factories import assert_invariants, debit, live_grants
from tests.webhooks.helpers import entry_by_key, get_account, ledger_entries, same_time
from tests.webhooks.shapes_story import (
    DAY,
    GROWTH,
    MONTH,
    NAMES,
    STARTER,
    TEAM_SEAT,
    UNIT,
    Story,
    shapes_catalog,
)


@pytest.fixture
async def client(app_with):
    return (await app_with(shapes_catalog()))[1]


async def _change(
    story: Story, start: int, end: int, old: tuple[str, int], new: tuple[str, int]
) -> str:
    """customer.subscription.updated, mid-period, to `new` (price, quantity)."""
    before = story.subscription([old], start, end)["items"]
    return await story.send(
        "customer.subscription.updated",
        story.subscription([new], start, end),
        previous_attributes={"items": before},
    )


def _renewal(
    story: Story, changed_at: int, old_end: int, old: tuple[str, int], new: tuple[str, int]
) -> dict:
    """The next invoice: "Unused time on <old>", "Remaining time on <new>", then the new
    period's line, as Stripe orders them."""
    left = (old_end - changed_at) / MONTH  # the share of the old period after the change
    (old_price, old_q), (new_price, new_q) = old, new
    credit = -int(UNIT[old_price] * old_q * left)
    charge = int(UNIT[new_price] * new_q * left)
    return story.invoice(
        [
            proration_line(
                old_price,
                credit,
                start=changed_at,
                end=old_end,
                subscription=story.sub,
                name=NAMES[old_price],
                quantity=old_q,
            ),
            proration_line(
                new_price,
                charge,
                start=changed_at,
                end=old_end,
                subscription=story.sub,
                name=NAMES[new_price],
                quantity=new_q,
            ),
            story.plan(new_price, old_end, old_end + MONTH, new_q),
        ],
        "subscription_cycle",
    )


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_renewal_after_an_upgrade_is_on_the_new_plan_and_closes_the_old_period(
    client, db, clock, layout
):
    story = Story(client, clock, layout)
    start, end = story.now, story.now + MONTH
    await story.subscribe(STARTER)
    clock.advance(days=10)
    changed_at = story.now
    assert await _change(story, start, end, (STARTER, 1), (GROWTH, 1)) == "processed"
    upgrade = 3000 * 20 // 30  # the upgrade rule: floor((4000 - 1000) x 20/30 days left)
    assert (await get_account(client, "user_1"))["balance"] == 1000 + upgrade
    assert (await debit(client, "user_1", 100)).status_code == 201

    clock.advance(days=20)
    renewal = _renewal(story, changed_at, end, (STARTER, 1), (GROWTH, 1))
    assert await story.send("invoice.paid", renewal) == "processed"

    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["subscription_status"]) == ("growth", "active")
    assert same_time(acc["current_period_end"], end + MONTH)
    grants = await live_grants(client, "user_1")
    by_kind = {g["kind"]: g for g in grants}
    assert (by_kind["subscription"]["amount"], by_kind["rollover"]["amount"]) == (4000, 500)
    assert same_time(by_kind["subscription"]["expires_at"], end + MONTH + 3 * DAY)
    assert same_time(by_kind["rollover"]["expires_at"], end + MONTH + 3 * DAY)
    unused = 1000 + upgrade - 100
    closed = await entry_by_key(db, "user_1", f"rollover:{renewal['id']}")
    assert (closed["type"], closed["amount"]) == ("expiry", -(unused - 500))
    assert acc["balance"] == 4000 + 500
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_renewal_after_a_downgrade_grants_the_smaller_plan(client, db, clock, layout):
    story = Story(client, clock, layout)
    start, end = story.now, story.now + MONTH
    await story.subscribe(GROWTH)
    clock.advance(days=10)
    changed_at = story.now
    assert await _change(story, start, end, (GROWTH, 1), (STARTER, 1)) == "processed"
    assert (await get_account(client, "user_1"))["balance"] == 4000  # nothing now

    clock.advance(days=20)
    renewal = _renewal(story, changed_at, end, (GROWTH, 1), (STARTER, 1))
    assert await story.send("invoice.paid", renewal) == "processed"

    acc = await get_account(client, "user_1")
    assert acc["plan"] == "starter"
    assert same_time(acc["current_period_end"], end + MONTH)
    amounts = sorted((g["kind"], g["amount"]) for g in await live_grants(client, "user_1"))
    assert amounts == [("rollover", 300), ("subscription", 1000)]  # starter carries <= 300
    assert acc["balance"] == 1300
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_three_seats_grant_three_times_the_plan_and_two_more_seats_the_upgrade_share(
    client, db, clock, layout
):
    story = Story(client, clock, layout)
    start, end = story.now, story.now + MONTH
    await story.subscribe(TEAM_SEAT, quantity=3)
    assert (await get_account(client, "user_1"))["balance"] == 3000

    clock.advance(days=10)
    changed_at = story.now
    assert await _change(story, start, end, (TEAM_SEAT, 3), (TEAM_SEAT, 5)) == "processed"

    share = 2000 * 20 // 30
    assert (await get_account(client, "user_1"))["balance"] == 3000 + share
    upgrade = (await ledger_entries(client, "user_1"))[-1]
    assert (upgrade["type"], upgrade["amount"]) == ("grant", share)

    clock.advance(days=20)
    renewal = _renewal(story, changed_at, end, (TEAM_SEAT, 3), (TEAM_SEAT, 5))
    assert await story.send("invoice.paid", renewal) == "processed"

    grants = await live_grants(client, "user_1")
    assert [g["amount"] for g in grants if g["kind"] == "subscription"] == [5000]
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_the_same_seat_change_resent_grants_once(client, db, clock, layout):
    story = Story(client, clock, layout)
    start, end = story.now, story.now + MONTH
    await story.subscribe(TEAM_SEAT, quantity=3)
    clock.advance(days=15)

    await _change(story, start, end, (TEAM_SEAT, 3), (TEAM_SEAT, 5))
    await _change(story, start, end, (TEAM_SEAT, 3), (TEAM_SEAT, 5))

    assert (await get_account(client, "user_1"))["balance"] == 3000 + 1000
    await assert_invariants(db, "user_1")
