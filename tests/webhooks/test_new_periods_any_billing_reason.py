"""A paid invoice that starts a service period credits it whatever its `billing_reason`:
Stripe starts periods with `subscription_update` invoices too (an interval change, a billing
cycle anchor reset, a trial ended early, a resumption). Each change closes the period it
cuts short, as a renewal would (the unused credits carried per the new plan's rollover), and
a yearly price's monthly credits stop when a monthly price replaces it."""

import pytest
from stripe_fixtures import LAYOUTS

from app.jobs.loop import sweep_once
from tests.factories import assert_invariants, live_grants
from tests.webhooks.helpers import get_account, same_time
from tests.webhooks.periods_story import access, new_period, unused_time
from tests.webhooks.shapes_story import ANNUAL, DAY, MONTH, STARTER, Story, shapes_catalog

YEAR = 365 * DAY


@pytest.fixture
async def app_client(app_with):
    return await app_with(shapes_catalog())


async def _sweep(app, clock) -> None:
    await sweep_once(app.state.services.repos, app.state.services.catalog, clock.now())


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_monthly_to_yearly_grants_the_yearly_plans_first_month_and_starts_its_months(
    app_client, db, clock, layout
):
    """Stripe: "Changing the billing interval" (docs.stripe.com/billing/subscriptions/
    billing-cycle#changing-the-billing-cycle and /billing/subscriptions/change-price): a new
    interval resets the billing cycle anchor to the change and invoices at once, with
    `billing_reason: subscription_update`."""
    app, client = app_client
    story = Story(client, clock, layout)
    start = story.now
    await story.subscribe(STARTER)
    clock.advance(days=10)
    now = story.now

    credit = unused_time(story, STARTER, at=now, end=start + MONTH)
    await new_period(story, ANNUAL, start=now, end=now + YEAR, credit=credit, interval="year")

    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["subscription_status"]) == ("annual", "active")
    assert same_time(acc["current_period_end"], now + YEAR)
    # The year's first month (1000); the starter month closed into annual's rollover (<= 200).
    assert acc["balance"] == 1000 + 200
    clock.advance(days=31)
    await _sweep(app, clock)
    subscription = [g for g in await live_grants(client, "user_1") if g["kind"] == "subscription"]
    assert [g["amount"] for g in subscription] == [1000]  # the second month, the first closed
    assert (await access(client))["allowed"] is True
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_billing_cycle_anchor_now_grants_the_newly_paid_month(app_client, db, clock, layout):
    """Stripe: "Reset the billing cycle to the current time" (docs.stripe.com/billing/
    subscriptions/billing-cycle#reset-the-billing-cycle-to-the-current-time): with
    `billing_cycle_anchor: "now"` Stripe invoices the new period at once
    (`subscription_update`), crediting the unused time of the old one."""
    _, client = app_client
    story = Story(client, clock, layout)
    start = story.now
    await story.subscribe(STARTER)
    clock.advance(days=10)
    now = story.now

    credit = unused_time(story, STARTER, at=now, end=start + MONTH)
    await new_period(story, STARTER, start=now, end=now + MONTH, credit=credit)

    acc = await get_account(client, "user_1")
    assert same_time(acc["current_period_end"], now + MONTH)
    assert acc["balance"] == 1000 + 300  # the new month; the old one carried (max:300)
    amounts = sorted((g["kind"], g["amount"]) for g in await live_grants(client, "user_1"))
    assert amounts == [("rollover", 300), ("subscription", 1000)]
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_a_trial_ended_early_grants_the_paid_period(app_client, db, clock, layout):
    """Stripe: "End a trial early" (docs.stripe.com/billing/subscriptions/trials#end-trial-early):
    `trial_end: "now"` ends the trial and invoices the first paid period at once
    (`subscription_update`)."""
    _, client = app_client
    story = Story(client, clock, layout)
    start = story.now
    trial_end = start + 14 * DAY
    await story.checkout()
    trialing = story.subscription([(STARTER, 1)], start, trial_end, status="trialing")
    trialing["trial_end"] = trial_end
    assert await story.send("customer.subscription.created", trialing) == "processed"
    trial_line = story.plan(STARTER, start, trial_end, trial=True)
    assert await story.send("invoice.paid", story.invoice([trial_line], "subscription_create"))
    assert (await get_account(client, "user_1"))["balance"] == 100  # the trial's credits
    clock.advance(days=3)
    now = story.now

    await new_period(story, STARTER, start=now, end=now + MONTH)

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["plan"]) == ("active", "starter")
    # The paid month; the trial's unused 100 closed and carried (starter: at most 300).
    assert acc["balance"] == 1000 + 100
    assert {g["kind"] for g in await live_grants(client, "user_1")} == {"subscription", "rollover"}
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_resuming_a_paused_subscription_grants_the_period_invoiced_at_resumption(
    app_client, db, clock, layout
):
    """Stripe: "Resume a paused subscription" (docs.stripe.com/billing/subscriptions/trials/
    free-trials#resume-a-paused-subscription, API `POST /v1/subscriptions/:id/resume` with
    `billing_cycle_anchor: "now"`): the subscription is `active` again and the new period is
    invoiced at once."""
    _, client = app_client
    story = Story(client, clock, layout)
    start = story.now
    await story.subscribe(STARTER)
    clock.advance(days=30)
    paused = story.subscription([(STARTER, 1)], start, start + MONTH, status="paused")
    assert await story.send("customer.subscription.paused", paused) == "processed"
    assert (await access(client))["reason"] == "paused"
    clock.advance(days=5)  # the last month's credits expired with its grace
    now = story.now

    await new_period(
        story, STARTER, start=now, end=now + MONTH, type="customer.subscription.resumed"
    )

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["balance"]) == ("active", 1000)
    assert same_time(acc["current_period_end"], now + MONTH)
    assert (await access(client))["allowed"] is True
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_yearly_to_monthly_stops_the_yearly_months_at_the_switch(
    app_client, db, clock, layout
):
    """Stripe: "Changing the billing interval" (docs.stripe.com/billing/subscriptions/
    billing-cycle#changing-the-billing-cycle): from yearly to monthly the anchor resets to the
    change, which Stripe invoices at once (`subscription_update`), crediting the year's
    unused time. The yearly plan's monthly allocation ends there."""
    app, client = app_client
    story = Story(client, clock, layout)
    start = story.now
    await story.subscribe(ANNUAL, end=start + YEAR)
    clock.advance(days=31)
    await _sweep(app, clock)  # the year's second month
    clock.advance(days=10)
    now = story.now

    credit = unused_time(story, ANNUAL, at=now, end=start + YEAR)
    await new_period(story, STARTER, start=now, end=now + MONTH, credit=credit)
    for _ in range(3):  # three more month starts of the old year: none grants
        clock.advance(days=9)
        await _sweep(app, clock)

    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["balance"]) == ("starter", 1000 + 300)
    subscription = [g for g in await live_grants(client, "user_1") if g["kind"] == "subscription"]
    assert [g["amount"] for g in subscription] == [1000]
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_yearly_months_stop_at_the_switch_even_before_its_invoice_arrives(
    app_client, db, clock, layout
):
    """Stripe sends the snapshot of an interval change before its invoice's `invoice.paid`
    often enough (docs.stripe.com/webhooks#event-ordering): the new period in the snapshot
    already ends the old year's schedule."""
    app, client = app_client
    story = Story(client, clock, layout)
    start = story.now
    await story.subscribe(ANNUAL, end=start + YEAR)
    clock.advance(days=20)
    now = story.now
    monthly = story.subscription([(STARTER, 1)], now, now + MONTH)
    assert await story.send("customer.subscription.updated", monthly) == "processed"

    clock.advance(days=12)  # the year's second month has begun: not granted
    await _sweep(app, clock)

    assert (await get_account(client, "user_1"))["balance"] == 1000
    await assert_invariants(db, "user_1")
