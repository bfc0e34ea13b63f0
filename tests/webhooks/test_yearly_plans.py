"""A yearly price with monthly credits: the paid invoice grants the first month and the sweep
each later month on its day, exactly once (sweeps at arbitrary times, twice in a row, after a
restart), each expiring at its month's end + grace_days; cancellation or non-payment stops the
months to come. Shapes: stripe_fixtures."""

import asyncio
import random
from datetime import timedelta

import pytest
from stripe_fixtures import LAYOUTS
from stripe_fixtures.invoices import plan_line

from app.jobs.loop import sweep_once
from app.storage.database import GRANTS, LEDGER
from tests.factories import assert_invariants
from tests.interleavings import assert_contended, interleaved, reruns
from tests.support.verify import assert_verified
from tests.webhooks.helpers import get_account, same_time
from tests.webhooks.shapes_story import (
    ANNUAL,
    ANNUAL_ONCE,
    ANNUAL_PRO,
    UNIT,
    Story,
    shapes_catalog,
    unix,
    utc,
)

GRACE = 3 * 86_400
YEAR_END = utc(2027, 11, 1, 12)
# The clock starts at 2026-11-01 12:00 UTC: month n of the year starts on the 1st at 12:00.
MONTH_STARTS = [utc(2026 + (10 + n) // 12, (10 + n) % 12 + 1, 1, 12) for n in range(12)]


async def _sweep(app, clock) -> None:
    await sweep_once(app.state.services.repos, app.state.services.catalog, clock.now())


async def _monthly_grants(db) -> list[dict]:
    """The year's subscription grants, oldest first."""
    grants = await db[GRANTS].find({"account_id": "user_1", "kind": "subscription"}).to_list(None)
    return sorted(grants, key=lambda g: g["period_start"])


async def _subscribe_yearly(app_with, clock, layout="current"):
    app, client = await app_with(shapes_catalog())
    story = Story(client, clock, layout)
    first = await story.subscribe(ANNUAL, end=unix(YEAR_END))
    return app, client, story, first


def _at(clock, moment) -> None:
    clock.advance(seconds=(moment - clock.now()).total_seconds())


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_a_paid_year_grants_twelve_months_once_each_whenever_the_sweep_runs(
    app_with, db, clock, layout
):
    app, client, story, first = await _subscribe_yearly(app_with, clock, layout)
    assert (await get_account(client, "user_1"))["balance"] == 1000
    rng = random.Random(6)
    for n, month_start in enumerate(MONTH_STARTS[1:], start=1):
        # Anywhere in the month; some months only once the next one began (within the grace
        # days of the month missed: a month whose credits would have expired is not granted).
        if n % 4 == 2:
            continue
        _at(clock, month_start)
        late = n % 4 == 3
        clock.advance(seconds=rng.randrange(0, GRACE if late else 27 * 86_400))
        if n == 6:  # a restart: a new app over the same database carries on
            app, client = await app_with(shapes_catalog())
        await _sweep(app, clock)
        await _sweep(app, clock)  # twice in a row changes nothing more
        grants = await _monthly_grants(db)
        assert len(grants) == n + 1
        await assert_invariants(db, "user_1")
    _at(clock, YEAR_END)
    await _sweep(app, clock)

    grants = await _monthly_grants(db)
    assert [g["amount"] for g in grants] == [1000] * 12
    bounds = [*MONTH_STARTS, YEAR_END]
    for n, grant in enumerate(grants):
        assert (grant["period_start"], grant["period_end"]) == (bounds[n], bounds[n + 1])
        assert grant["expires_at"] == bounds[n + 1] + timedelta(seconds=GRACE)
    keys = [g["idempotency_key"] for g in grants]
    assert keys[0] == f"invoice:{first['id']}"
    period = unix(MONTH_STARTS[0])
    assert keys[1:] == [f"allocation:sub_1:{period}:{n}" for n in range(1, 12)]
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("first_seed", [0, 100, 200])
async def test_concurrent_sweeps_grant_a_month_once(app_with, db, clock, first_seed):
    """Five sweeps at once at each month's start, their calls interleaved by a seed of their
    own (tests/interleavings.py): each month is granted once, and the sweeps really met."""
    app, client, story, _ = await _subscribe_yearly(app_with, clock)
    for month, month_start in enumerate(MONTH_STARTS[1:], start=1):
        _at(clock, month_start)
        with interleaved(db, first_seed + month):
            await asyncio.gather(*(_sweep(app, clock) for _ in range(5)))

        assert len(await _monthly_grants(db)) == month + 1, first_seed + month
        await assert_invariants(db, "user_1")
        await assert_verified(app)
    assert_contended(db, await reruns(client))


async def test_the_months_carry_over_by_the_rollover_rule(app_with, db, clock):
    app, client, story, _ = await _subscribe_yearly(app_with, clock)
    _at(clock, MONTH_STARTS[1])

    await _sweep(app, clock)

    acc = await get_account(client, "user_1")
    assert acc["balance"] == 1000 + 200  # "max:200" of the 1000 unused
    rollover = await db[GRANTS].find_one({"account_id": "user_1", "kind": "rollover"})
    assert rollover["amount"] == 200
    assert same_time(rollover["expires_at"].isoformat(), unix(MONTH_STARTS[2]) + GRACE)
    await assert_invariants(db, "user_1")


async def test_cancelling_in_month_five_stops_months_six_to_twelve(app_with, db, clock):
    app, client, story, _ = await _subscribe_yearly(app_with, clock)
    for month_start in MONTH_STARTS[1:5]:
        _at(clock, month_start)
        await _sweep(app, clock)
    clock.advance(days=10)  # in month 5
    deleted = story.subscription(
        [(ANNUAL, 1)], unix(MONTH_STARTS[0]), unix(YEAR_END), status="canceled"
    )
    assert await story.send("customer.subscription.deleted", deleted) == "processed"

    for month_start in [*MONTH_STARTS[5:], YEAR_END]:
        _at(clock, month_start)
        await _sweep(app, clock)

    assert len(await _monthly_grants(db)) == 5
    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["balance"]) == ("canceled", 0)
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("status", ["unpaid", "paused"])
async def test_non_payment_stops_the_months_to_come(app_with, db, clock, status):
    app, client, story, _ = await _subscribe_yearly(app_with, clock)
    for month_start in MONTH_STARTS[1:5]:
        _at(clock, month_start)
        await _sweep(app, clock)
    clock.advance(days=10)
    stopped = story.subscription(
        [(ANNUAL, 1)], unix(MONTH_STARTS[0]), unix(YEAR_END), status=status
    )
    assert await story.send("customer.subscription.updated", stopped) == "processed"

    for month_start in MONTH_STARTS[5:]:
        _at(clock, month_start)
        await _sweep(app, clock)

    assert len(await _monthly_grants(db)) == 5
    assert (await get_account(client, "user_1"))["suspended_reason"] == status
    await assert_invariants(db, "user_1")


async def test_the_next_years_invoice_closes_month_twelve_and_starts_a_new_year(
    app_with, db, clock
):
    app, client, story, _ = await _subscribe_yearly(app_with, clock)
    for month_start in MONTH_STARTS[1:]:
        _at(clock, month_start)
        await _sweep(app, clock)
    _at(clock, YEAR_END)
    next_end = unix(utc(2028, 11, 1, 12))
    renewal = story.invoice(
        [
            plan_line(
                ANNUAL,
                UNIT[ANNUAL],
                start=unix(YEAR_END),
                end=next_end,
                subscription="sub_1",
                name="Annual",
            )
        ],
        "subscription_cycle",
    )

    assert await story.send("invoice.paid", renewal) == "processed"
    await _sweep(app, clock)  # month 13 is the invoice's: nothing more yet

    grants = await _monthly_grants(db)
    assert len(grants) == 13
    assert grants[-1]["idempotency_key"] == f"invoice:{renewal['id']}"
    assert grants[-1]["period_end"] == utc(2027, 12, 1, 12)
    acc = await get_account(client, "user_1")
    assert acc["balance"] == 1000 + 200  # month 12 closed: "max:200" carried
    assert same_time(acc["current_period_end"], next_end)
    entries = await db[LEDGER].find({"account_id": "user_1", "type": "grant"}).to_list(None)
    assert sum(1 for e in entries if e["amount"] == 1000) == 13
    await assert_invariants(db, "user_1")


async def test_an_upgrade_mid_year_is_prorated_over_the_month_and_later_months_get_more(
    app_with, db, clock
):
    app, client, story, _ = await _subscribe_yearly(app_with, clock)
    _at(clock, MONTH_STARTS[1])
    await _sweep(app, clock)
    clock.advance(days=10)  # 10 of December's 31 days gone
    year = (unix(MONTH_STARTS[0]), unix(YEAR_END))
    before = story.subscription([(ANNUAL, 1)], *year)["items"]
    assert (
        await story.send(
            "customer.subscription.updated",
            story.subscription([(ANNUAL_PRO, 1)], *year),
            previous_attributes={"items": before},
        )
        == "processed"
    )

    upgrade = await db[GRANTS].find_one(
        {"account_id": "user_1", "idempotency_key": {"$regex": "^upgrade:"}}
    )
    assert upgrade["amount"] == 3000 * 21 // 31
    assert upgrade["expires_at"] == MONTH_STARTS[2] + timedelta(seconds=GRACE)
    _at(clock, MONTH_STARTS[2])
    await _sweep(app, clock)
    assert (await _monthly_grants(db))[-1]["amount"] == 4000
    await assert_invariants(db, "user_1")


async def test_per_period_allocation_grants_the_whole_year_at_once(app_with, db, clock):
    app, client = await app_with(shapes_catalog())
    story = Story(client, clock, "current")

    await story.subscribe(ANNUAL_ONCE, end=unix(YEAR_END))
    _at(clock, MONTH_STARTS[3])
    await _sweep(app, clock)

    [grant] = await _monthly_grants(db)
    assert grant["amount"] == 12_000
    assert grant["expires_at"] == YEAR_END + timedelta(seconds=GRACE)
    await assert_invariants(db, "user_1")


async def test_an_account_written_before_subscriptions_were_kept_one_by_one_keeps_its_months(
    app_with, db, clock
):
    """An account of the earlier shape (one subscription's fields on the account, the yearly
    schedule at `allocation`) is read as that one subscription: its months keep coming."""
    app, client, story, first = await _subscribe_yearly(app_with, clock)
    acc = await db["accounts"].find_one({"_id": "user_1"})
    schedule = acc["subscriptions"]["sub_1"]["allocation"]
    await db["accounts"].update_one(
        {"_id": "user_1"},
        {
            "$unset": {"subscriptions": ""},
            "$set": {"allocation": schedule, "plan_quantity": 1, "subscription_order": [0, 0, 0]},
        },
    )

    _at(clock, MONTH_STARTS[1])
    await _sweep(app, clock)

    assert len(await _monthly_grants(db)) == 2
    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["plan"]) == ("active", "annual")
    assert acc["balance"] == 1000 + 200  # month 1 closed: "max:200" carried
    await assert_invariants(db, "user_1")
