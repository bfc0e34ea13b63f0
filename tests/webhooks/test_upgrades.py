"""Plan changes: an upgrade grants credits now per `upgrade_credits`; a downgrade waits for the
next renewal."""

from stripe_fixtures import DAY, MONTH

from tests.factories import assert_invariants, live_grants
from tests.webhooks.helpers import (
    PRO,
    STARTER,
    advance,
    example_catalog,
    get_account,
    ledger_entries,
    renewal_invoice,
    same_time,
    send_ok,
    subscribe,
)


async def _change_plan(client, events, sub, price: str) -> str:
    return await send_ok(
        client,
        events.subscription_event(
            "updated",
            subscription_id="sub_1",
            customer="cus_1",
            price=price,
            period_start=sub["start"],
            period_end=sub["end"],
        ),
    )


async def _client(app_with, policy: str):
    catalog = example_catalog()
    catalog["billing"]["upgrade_credits"] = policy
    return (await app_with(catalog))[1]


async def test_prorated_upgrade_grants_the_difference_times_the_period_left(
    client, db, events, clock
):
    sub = await subscribe(client, events)
    advance(clock, events, days=10)

    await _change_plan(client, events, sub, PRO)

    expected = (5000 - 1000) * 20 // 30  # floor(4000 * 20/30) = 2666
    acc = await get_account(client, "user_1")
    assert acc["plan"] == "pro"
    assert acc["balance"] == 1000 + expected
    upgrade = (await ledger_entries(client, "user_1"))[-1]
    assert (upgrade["type"], upgrade["amount"]) == ("grant", 2666)
    assert upgrade["idempotency_key"].startswith("upgrade:sub_1:")
    grants = await live_grants(client, "user_1")
    assert [g["kind"] for g in grants] == ["subscription", "subscription"]
    assert grants[0]["expires_at"] == grants[1]["expires_at"]
    assert same_time(grants[1]["expires_at"], sub["end"] + 3 * DAY)
    await assert_invariants(db, "user_1")


async def test_prorated_upgrade_rounds_down(client, db, events, clock):
    sub = await subscribe(client, events)
    advance(clock, events, seconds=7)  # 4000 * (MONTH - 7) / MONTH = 3999.99...

    await _change_plan(client, events, sub, PRO)

    assert (await get_account(client, "user_1"))["balance"] == 1000 + 3999
    await assert_invariants(db, "user_1")


async def test_full_upgrade_grants_the_whole_difference(app_with, db, events, clock):
    client = await _client(app_with, "full")
    sub = await subscribe(client, events)
    advance(clock, events, days=10)

    await _change_plan(client, events, sub, PRO)

    assert (await get_account(client, "user_1"))["balance"] == 1000 + 4000
    await assert_invariants(db, "user_1")


async def test_upgrade_with_policy_none_grants_nothing_now(app_with, db, events, clock):
    client = await _client(app_with, "none")
    sub = await subscribe(client, events)
    advance(clock, events, days=10)

    await _change_plan(client, events, sub, PRO)

    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["balance"]) == ("pro", 1000)
    await assert_invariants(db, "user_1")


async def test_upgrade_redelivered_grants_once(client, db, events, clock):
    sub = await subscribe(client, events)
    advance(clock, events, days=10)
    await _change_plan(client, events, sub, PRO)
    advance(clock, events, seconds=30)

    # Another snapshot of the same change (say, with the metadata edited) grants nothing more.
    await _change_plan(client, events, sub, PRO)

    assert (await get_account(client, "user_1"))["balance"] == 1000 + 2666
    await assert_invariants(db, "user_1")


async def test_upgrade_credits_expire_with_the_current_period(client, db, events, clock):
    sub = await subscribe(client, events)
    advance(clock, events, days=10)
    await _change_plan(client, events, sub, PRO)

    clock.advance(days=20 + 3)

    assert (await get_account(client, "user_1"))["balance"] == 0
    await assert_invariants(db, "user_1")


async def test_renewal_after_an_upgrade_grants_the_new_plan(client, db, events, clock):
    sub = await subscribe(client, events)
    advance(clock, events, days=10)
    await _change_plan(client, events, sub, PRO)
    clock.advance(days=20)
    events.now = sub["end"]

    await send_ok(client, renewal_invoice(events, period_start=sub["end"], price=PRO))

    # 3666 unused carry at most 2000 (pro's rollover), plus pro's 5000.
    assert (await get_account(client, "user_1"))["balance"] == 2000 + 5000
    await assert_invariants(db, "user_1")


async def test_downgrade_grants_nothing_now(client, db, events, clock):
    sub = await subscribe(client, events, price=PRO)
    advance(clock, events, days=10)

    await _change_plan(client, events, sub, STARTER)

    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["balance"]) == ("starter", 5000)
    assert len(await ledger_entries(client, "user_1")) == 1
    await assert_invariants(db, "user_1")


async def test_next_renewal_after_a_downgrade_grants_the_new_plan_amount(client, db, events, clock):
    sub = await subscribe(client, events, price=PRO)
    advance(clock, events, days=10)
    await _change_plan(client, events, sub, STARTER)
    clock.advance(days=20)
    events.now = sub["end"]

    await send_ok(client, renewal_invoice(events, period_start=sub["end"], price=STARTER))

    # Starter's rollover ("none") closes the pro period: only starter's 1000 remain.
    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["balance"]) == ("starter", 1000)
    [credits] = await live_grants(client, "user_1")
    assert (credits["kind"], credits["amount"]) == ("subscription", 1000)
    assert same_time(credits["expires_at"], sub["end"] + MONTH + 3 * DAY)
    await assert_invariants(db, "user_1")


async def test_plan_change_of_a_trialing_subscription_grants_no_upgrade_credits(
    client, db, events, clock
):
    start = events.now
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    trial = {
        "subscription_id": "sub_1",
        "customer": "cus_1",
        "status": "trialing",
        "trial_end": start + 14 * DAY,
        "period_start": start,
        "period_end": start + 14 * DAY,
    }
    await send_ok(client, events.subscription_event("created", price=STARTER, **trial))
    advance(clock, events, days=1)

    await send_ok(client, events.subscription_event("updated", price=PRO, **trial))

    acc = await get_account(client, "user_1")
    assert acc["plan"] == "pro"
    # The starter trial's 100, and pro's own trial credits are not granted a second time.
    assert acc["balance"] == 100
    await assert_invariants(db, "user_1")


async def test_plan_change_taking_effect_at_renewal_grants_no_upgrade_credits(
    client, db, events, clock
):
    sub = await subscribe(client, events)
    clock.advance(days=30)
    events.now = sub["end"]
    next_period = {"period_start": sub["end"], "period_end": sub["end"] + MONTH}

    # The snapshot of the new period at the new price, then the renewal invoice at that price.
    await send_ok(
        client,
        events.subscription_event(
            "updated", subscription_id="sub_1", customer="cus_1", price=PRO, **next_period
        ),
    )
    await send_ok(client, renewal_invoice(events, period_start=sub["end"], price=PRO))

    # 1000 unused starter credits carry over (pro's rollover), plus pro's 5000: no 4000 more.
    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["balance"]) == ("pro", 1000 + 5000)
    await assert_invariants(db, "user_1")


async def test_upgrade_that_resets_the_billing_cycle_grants_for_the_new_period(
    client, db, events, clock
):
    await subscribe(client, events)
    advance(clock, events, days=10)

    # billing_cycle_anchor=now: a new period starts mid-way through the old one, and Stripe
    # invoices it at once (billing_reason subscription_update).
    await send_ok(
        client,
        events.subscription_event(
            "updated",
            subscription_id="sub_1",
            customer="cus_1",
            price=PRO,
            period_start=events.now,
            period_end=events.now + MONTH,
        ),
    )
    assert (await get_account(client, "user_1"))["balance"] == 1000  # not paid yet
    await send_ok(
        client,
        events.invoice_event(
            "invoice.paid",
            customer="cus_1",
            subscription="sub_1",
            price=PRO,
            billing_reason="subscription_update",
            period_start=events.now,
            period_end=events.now + MONTH,
        ),
    )

    # The new period is pro's 5000; starter's period closed, its 1000 unused carried over
    # (pro's rollover, at most 2000), as at any renewal.
    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["balance"]) == ("pro", 1000 + 5000)
    await assert_invariants(db, "user_1")
