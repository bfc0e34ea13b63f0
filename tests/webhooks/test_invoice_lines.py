"""Which invoice line pays for the plan, as Stripe really lays invoices out (shapes from
Stripe's published objects: stripe_fixtures): one-off fees, add-ons and proration lines, in
any order and in both layouts, never set the plan, the period or the credits."""

from itertools import permutations

import pytest
import stripe
from stripe_fixtures import LAYOUTS
from stripe_fixtures.invoices import fee_line, proration_line

from tests.factories import assert_invariants, live_grants
from tests.webhooks.fake_stripe_api import API_KEY, FakeStripeAPI
from tests.webhooks.helpers import get_account, same_time, stored_event
from tests.webhooks.shapes_story import (
    ADDON,
    DAY,
    FEE,
    GROWTH,
    MONTH,
    STARTER,
    UNIT,
    Story,
    shapes_catalog,
)


@pytest.fixture
async def client(app_with):
    return (await app_with(shapes_catalog()))[1]


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_first_invoice_of_a_one_off_fee_then_the_plan_grants_the_plans_credits(
    client, db, clock, layout
):
    story = Story(client, clock, layout)
    start, end = story.now, story.now + MONTH

    await story.subscribe(
        STARTER,
        lines=[
            fee_line(FEE, UNIT[FEE], at=start, subscription=story.sub),
            story.plan(STARTER, start, end),
        ],
    )

    acc = await get_account(client, "user_1")
    assert (acc["balance"], acc["plan"], acc["subscription_status"]) == (1000, "starter", "active")
    assert same_time(acc["current_period_end"], end)
    [grant] = await live_grants(client, "user_1")
    assert (grant["kind"], grant["amount"]) == ("subscription", 1000)
    assert same_time(grant["expires_at"], end + 3 * DAY)
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("order", list(permutations(("fee", "addon", "plan"))))
async def test_the_plan_line_is_found_in_any_order_of_lines(client, db, clock, layout, order):
    story = Story(client, clock, layout)
    start, end = story.now, story.now + MONTH
    lines = {
        "fee": fee_line(FEE, UNIT[FEE], at=start, subscription=story.sub),
        "addon": story.plan(ADDON, start, end, quantity=2),
        "plan": story.plan(STARTER, start, end),
    }

    await story.subscribe(STARTER, lines=[lines[name] for name in order])

    acc = await get_account(client, "user_1")
    assert (acc["balance"], acc["plan"]) == (1000, "starter")
    assert same_time(acc["current_period_end"], end)
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_an_invoice_without_a_plan_line_fails_naming_the_prices_seen(
    client, db, clock, layout
):
    story = Story(client, clock, layout)
    start = story.now
    await story.checkout()
    bad = story.invoice(
        [
            fee_line(FEE, UNIT[FEE], at=start, subscription=story.sub),
            story.plan(ADDON, start, start + MONTH),
        ],
        "subscription_create",
    )

    assert await story.send("invoice.paid", bad) == "failed"

    stored = await stored_event(
        db, (await db["stripe_events"].find_one({"type": "invoice.paid"}))["_id"]
    )
    assert FEE in stored["error"] and ADDON in stored["error"]
    assert (await get_account(client, "user_1"))["balance"] == 0
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_a_subscription_with_an_add_on_item_first_takes_the_plan_from_its_plan_item(
    client, db, clock, layout
):
    story = Story(client, clock, layout)
    start, end = story.now, story.now + MONTH
    await story.checkout()

    assert (
        await story.send(
            "customer.subscription.created",
            story.subscription([(ADDON, 1), (GROWTH, 1)], start, end),
        )
        == "processed"
    )

    assert (await get_account(client, "user_1"))["plan"] == "growth"
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_first_invoice_of_0_with_a_100_percent_coupon_grants_the_periods_credits(
    client, db, clock, layout
):
    story = Story(client, clock, layout)
    start, end = story.now, story.now + MONTH

    first = await story.subscribe(
        STARTER, lines=[story.plan(STARTER, start, end, discount=UNIT[STARTER])]
    )

    assert (first["amount_paid"], first["total"]) == (0, 0)
    acc = await get_account(client, "user_1")
    assert (acc["balance"], acc["subscription_status"]) == (1000, "active")
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_first_invoice_of_0_for_a_trial_grants_only_the_trial_credits(
    client, db, clock, layout
):
    story = Story(client, clock, layout)
    start, trial_end = story.now, story.now + 14 * DAY
    await story.checkout()
    assert (
        await story.send(
            "customer.subscription.created",
            story.subscription(
                [(STARTER, 1)], start, trial_end, status="trialing", trial_end=trial_end
            ),
        )
        == "processed"
    )

    trial_invoice = story.invoice(
        [story.plan(STARTER, start, trial_end, trial=True)], "subscription_create"
    )
    assert await story.send("invoice.paid", trial_invoice) == "processed"

    acc = await get_account(client, "user_1")
    assert (acc["balance"], acc["subscription_status"]) == (100, "trialing")
    assert [g["kind"] for g in await live_grants(client, "user_1")] == ["trial"]
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_a_trial_invoice_before_the_subscription_event_grants_nothing(
    client, db, clock, layout
):
    story = Story(client, clock, layout)
    start, trial_end = story.now, story.now + 14 * DAY
    await story.checkout()

    trial_invoice = story.invoice(
        [story.plan(STARTER, start, trial_end, trial=True)], "subscription_create"
    )
    assert await story.send("invoice.paid", trial_invoice) == "processed"

    assert (await get_account(client, "user_1"))["balance"] == 0
    await assert_invariants(db, "user_1")


def _long_renewal(story: Story, start: int) -> tuple[dict, list[dict]]:
    """A renewal after many changes: its event carries the first 10 lines (prorations, which
    Stripe lists first), the plan line is further down (`has_more`)."""
    end = start + MONTH
    lines = [
        proration_line(
            STARTER,
            -100 - n,
            start=start - 20 * DAY,
            end=start,
            subscription=story.sub,
            name="Starter",
        )
        for n in range(12)
    ]
    lines.append(story.plan(STARTER, start, end))
    renewal = story.invoice(lines, "subscription_cycle")
    every = renewal["lines"]["data"]
    renewal["lines"] = {**renewal["lines"], "data": every[:10], "has_more": True}
    return renewal, every


async def test_a_plan_line_beyond_the_events_first_lines_is_read_from_stripes_api(
    app_with, db, clock
):
    api = FakeStripeAPI()
    _, client = await app_with(
        shapes_catalog(),
        stripe_client=stripe.StripeClient(API_KEY, http_client=api),
        stripe_api_key=API_KEY,
    )
    story = Story(client, clock, "current")
    await story.subscribe(STARTER)
    clock.advance(days=30)
    renewal, every = _long_renewal(story, story.now)
    api.invoice_lines[renewal["id"]] = every

    assert await story.send("invoice.paid", renewal) == "processed"

    acc = await get_account(client, "user_1")
    assert same_time(acc["current_period_end"], story.now + MONTH)
    assert [
        g["amount"] for g in await live_grants(client, "user_1") if g["kind"] == "subscription"
    ] == [1000]
    await assert_invariants(db, "user_1")


async def test_without_an_api_key_a_plan_line_beyond_the_events_lines_fails_saying_so(
    client, db, clock
):
    story = Story(client, clock, "current")
    await story.subscribe(STARTER)
    clock.advance(days=30)
    renewal, _ = _long_renewal(story, story.now)

    assert await story.send("invoice.paid", renewal) == "failed"

    failed = await db["stripe_events"].find_one({"type": "invoice.paid", "status": "failed"})
    assert "STRIPE_API_KEY" in failed["error"]
    assert (await get_account(client, "user_1"))["balance"] == 1000  # nothing of it applied
    await assert_invariants(db, "user_1")
