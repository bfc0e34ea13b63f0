"""invoice.payment_failed: past_due with a grace period counted from the failure's own time;
access ends when grace does; a paid invoice restores it."""

from stripe_fixtures import DAY, MONTH

from tests.factories import assert_invariants, assert_problem, debit, reserve
from tests.support.settings import auth
from tests.webhooks.helpers import (
    STARTER,
    advance,
    example_catalog,
    get_account,
    renewal_invoice,
    same_time,
    send_ok,
    stored_event,
    subscribe,
)


async def _renewal_fails(client, events, clock) -> tuple[dict, dict]:
    """Activate, then at the first renewal the payment fails (grace_days = 3)."""
    sub = await subscribe(client, events)
    clock.advance(days=30)
    events.now = sub["end"]
    failed = renewal_invoice(events, period_start=sub["end"], type="invoice.payment_failed")
    assert await send_ok(client, failed) == "processed"
    return sub, failed


async def test_payment_failure_marks_past_due_with_grace_from_the_event_time(
    client, db, events, clock
):
    _, failed = await _renewal_fails(client, events, clock)

    acc = await get_account(client, "user_1")
    assert acc["subscription_status"] == "past_due"
    assert same_time(acc["grace_until"], failed["created"] + 3 * DAY)
    assert acc["suspended_reason"] is None
    await assert_invariants(db, "user_1")


async def test_two_days_past_due_can_still_debit(client, db, events, clock):
    await _renewal_fails(client, events, clock)

    advance(clock, events, days=2)

    assert (await debit(client, "user_1", 10)).status_code == 201
    assert (await get_account(client, "user_1"))["suspended_reason"] is None
    await assert_invariants(db, "user_1")


async def test_four_days_past_due_a_debit_is_refused_with_reason_past_due(
    client, db, events, clock
):
    await _renewal_fails(client, events, clock)
    await reserve(client, "user_1", 1)

    advance(clock, events, days=4)

    body = assert_problem(await debit(client, "user_1", 1), 403, "access_suspended")
    assert "past due" in body["detail"]
    assert (await get_account(client, "user_1"))["suspended_reason"] == "past_due"
    assert_problem(await reserve(client, "user_1", 1), 403, "access_suspended")
    await assert_invariants(db, "user_1")


async def test_access_decision_says_past_due_after_grace(client, db, events, clock):
    await _renewal_fails(client, events, clock)
    advance(clock, events, days=4)

    r = await client.get("/v1/accounts/user_1/access", params={"cost": 1}, headers=auth("reader"))

    assert r.json()["allowed"] is False and r.json()["reason"] == "past_due"
    await assert_invariants(db, "user_1")


async def test_invoice_paid_after_the_failure_restores_access_and_grants_the_period(
    client, db, events, clock
):
    sub, failed = await _renewal_fails(client, events, clock)
    advance(clock, events, days=4)

    paid = renewal_invoice(
        events, period_start=sub["end"], invoice_id=failed["data"]["object"]["id"]
    )
    assert await send_ok(client, paid) == "processed"

    acc = await get_account(client, "user_1")
    assert acc["subscription_status"] == "active"
    assert acc["grace_until"] is None and acc["suspended_reason"] is None
    assert acc["balance"] == 1000  # the old period's credits ended with its grace
    assert same_time(acc["current_period_end"], sub["end"] + MONTH)
    assert (await debit(client, "user_1", 10)).status_code == 201
    await assert_invariants(db, "user_1")


async def test_invoice_paid_within_grace_closes_the_period_with_rollover(client, db, events, clock):
    sub, failed = await _renewal_fails(client, events, clock)
    advance(clock, events, days=1)

    await send_ok(
        client,
        renewal_invoice(events, period_start=sub["end"], invoice_id=failed["data"]["object"]["id"]),
    )

    # Starter carries nothing: the old grant's 1000 expire and the new 1000 arrive, once.
    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["balance"]) == ("active", 1000)
    await assert_invariants(db, "user_1")


async def test_late_delivery_of_the_failure_does_not_extend_grace(client, db, events, clock):
    sub = await subscribe(client, events)
    clock.advance(days=30)
    events.now = sub["end"]
    failed = renewal_invoice(events, period_start=sub["end"], type="invoice.payment_failed")

    advance(clock, events, days=2)  # Stripe delivers it two days late
    await send_ok(client, failed)

    acc = await get_account(client, "user_1")
    assert same_time(acc["grace_until"], sub["end"] + 3 * DAY)
    advance(clock, events, days=1, seconds=1)
    assert_problem(await debit(client, "user_1", 1), 403, "access_suspended")
    await assert_invariants(db, "user_1")


async def test_repeated_failures_keep_the_first_failure_grace(client, db, events, clock):
    sub, failed = await _renewal_fails(client, events, clock)
    advance(clock, events, days=2)

    retry = renewal_invoice(
        events,
        period_start=sub["end"],
        type="invoice.payment_failed",
        invoice_id=failed["data"]["object"]["id"],
        attempt_count=2,
    )
    await send_ok(client, retry)

    acc = await get_account(client, "user_1")
    assert same_time(acc["grace_until"], failed["created"] + 3 * DAY)
    await assert_invariants(db, "user_1")


async def test_failure_older_than_the_last_payment_changes_nothing(client, db, events, clock):
    sub = await subscribe(client, events)
    stale = events.invoice_event(
        "invoice.payment_failed",
        customer="cus_1",
        subscription="sub_1",
        price=STARTER,
        billing_reason="subscription_create",
        created=sub["start"] - 60,
    )

    assert await send_ok(client, stale) == "processed"

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["grace_until"]) == ("active", None)
    assert (await stored_event(db, stale["id"]))["note"] == "a later payment already succeeded"
    await assert_invariants(db, "user_1")


async def test_subscription_update_to_past_due_keeps_the_failure_grace(client, db, events, clock):
    sub, failed = await _renewal_fails(client, events, clock)

    await send_ok(
        client,
        events.subscription_event(
            "updated",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            status="past_due",
            period_start=sub["end"],
            period_end=sub["end"] + MONTH,
        ),
    )

    acc = await get_account(client, "user_1")
    assert acc["subscription_status"] == "past_due"
    assert same_time(acc["grace_until"], failed["created"] + 3 * DAY)
    await assert_invariants(db, "user_1")


async def test_grace_days_come_from_the_catalog(app_with, db, events, clock):
    catalog = example_catalog()
    catalog["billing"]["grace_days"] = 0
    _, client = await app_with(catalog)

    await _renewal_fails(client, events, clock)

    assert (await get_account(client, "user_1"))["suspended_reason"] == "past_due"
    assert_problem(await debit(client, "user_1", 1), 403, "access_suspended")
    await assert_invariants(db, "user_1")
