"""Renewal: the previous period's credits close into one entry (carried over per the plan's
rollover, the rest expired) and the new period's credits are granted, once per invoice."""

from stripe_fixtures import DAY, MONTH

from tests.factories import (
    assert_invariants,
    capture,
    debit,
    live_grants,
    reserve,
    snapshot,
)
from tests.webhooks.helpers import (
    PRO,
    SCALE,
    entry_by_key,
    example_catalog,
    get_account,
    ledger_entries,
    renewal_invoice,
    same_time,
    send,
    send_ok,
    stored_event,
    subscribe,
)


async def _starter_with_rollover(app_with, rollover: str):
    catalog = example_catalog()
    catalog["plans"]["starter"]["rollover"] = rollover
    return (await app_with(catalog))[1]


async def _renew_with_700_unused(client, events, clock) -> tuple[dict, dict]:
    sub = await subscribe(client, events)
    assert (await debit(client, "user_1", 300)).status_code == 201
    clock.advance(days=30)
    events.now = sub["end"]
    invoice = renewal_invoice(events, period_start=sub["end"])
    assert await send_ok(client, invoice) == "processed"
    return sub, invoice["data"]["object"]


async def test_renewal_with_rollover_max_500_carries_500_and_expires_200(
    app_with, db, events, clock
):
    client = await _starter_with_rollover(app_with, "max:500")

    sub, invoice = await _renew_with_700_unused(client, events, clock)

    acc = await get_account(client, "user_1")
    assert acc["balance"] == 1500
    closing = await entry_by_key(db, "user_1", f"rollover:{invoice['id']}")
    assert (closing["type"], closing["amount"]) == ("expiry", -200)
    parts = {p["kind"]: p["amount"] for p in closing["grants"]}
    assert parts == {"subscription": -700, "rollover": 500}
    grants = {g["kind"]: g for g in await live_grants(client, "user_1")}
    assert grants["rollover"]["amount"] == 500
    assert grants["subscription"]["amount"] == 1000
    new_expiry = sub["end"] + MONTH + 3 * DAY
    assert same_time(grants["rollover"]["expires_at"], new_expiry)
    assert same_time(grants["subscription"]["expires_at"], new_expiry)
    await assert_invariants(db, "user_1")


async def test_renewal_with_rollover_none_expires_all_700(app_with, db, events, clock):
    client = await _starter_with_rollover(app_with, "none")

    _, invoice = await _renew_with_700_unused(client, events, clock)

    assert (await get_account(client, "user_1"))["balance"] == 1000
    closing = await entry_by_key(db, "user_1", f"rollover:{invoice['id']}")
    assert (closing["type"], closing["amount"]) == ("expiry", -700)
    assert [(p["kind"], p["amount"]) for p in closing["grants"]] == [("subscription", -700)]
    assert [g["kind"] for g in await live_grants(client, "user_1")] == ["subscription"]
    await assert_invariants(db, "user_1")


async def test_renewal_with_rollover_all_carries_everything(app_with, db, events, clock):
    client = await _starter_with_rollover(app_with, "all")

    _, invoice = await _renew_with_700_unused(client, events, clock)

    assert (await get_account(client, "user_1"))["balance"] == 1700
    closing = await entry_by_key(db, "user_1", f"rollover:{invoice['id']}")
    assert closing["amount"] == 0
    assert {p["kind"]: p["amount"] for p in closing["grants"]} == {
        "subscription": -700,
        "rollover": 700,
    }
    await assert_invariants(db, "user_1")


async def test_renewal_below_the_rollover_limit_carries_all_unused(app_with, db, events, clock):
    client = await _starter_with_rollover(app_with, "max:800")

    await _renew_with_700_unused(client, events, clock)

    grants = {g["kind"]: g["amount"] for g in await live_grants(client, "user_1")}
    assert grants == {"rollover": 700, "subscription": 1000}
    await assert_invariants(db, "user_1")


async def test_rollover_grant_closes_with_the_following_renewal(app_with, db, events, clock):
    client = await _starter_with_rollover(app_with, "max:500")
    sub, _ = await _renew_with_700_unused(client, events, clock)
    clock.advance(days=30)
    events.now = sub["end"] + MONTH

    await send_ok(client, renewal_invoice(events, period_start=sub["end"] + MONTH))

    # 500 rolled over + 1000 of the second period unused: 500 carries again, 1000 expire.
    assert (await get_account(client, "user_1"))["balance"] == 1500
    grants = sorted((g["kind"], g["amount"]) for g in await live_grants(client, "user_1"))
    assert grants == [("rollover", 500), ("subscription", 1000)]
    await assert_invariants(db, "user_1")


async def test_pro_renewal_carries_at_most_2000(client, db, events, clock):
    sub = await subscribe(client, events, price=PRO)
    clock.advance(days=30)
    events.now = sub["end"]

    await send_ok(client, renewal_invoice(events, period_start=sub["end"], price=PRO))

    assert (await get_account(client, "user_1"))["balance"] == 7000
    await assert_invariants(db, "user_1")


async def test_scale_renewal_carries_everything(client, db, events, clock):
    sub = await subscribe(client, events, price=SCALE)
    clock.advance(days=30)
    events.now = sub["end"]

    await send_ok(client, renewal_invoice(events, period_start=sub["end"], price=SCALE))

    assert (await get_account(client, "user_1"))["balance"] == 40000
    await assert_invariants(db, "user_1")


async def test_renewal_moves_the_period_and_keeps_status_active(client, db, events, clock):
    sub = await subscribe(client, events)
    clock.advance(days=30)
    events.now = sub["end"]

    await send_ok(client, renewal_invoice(events, period_start=sub["end"]))

    acc = await get_account(client, "user_1")
    assert acc["subscription_status"] == "active"
    assert same_time(acc["current_period_end"], sub["end"] + MONTH)
    await assert_invariants(db, "user_1")


async def test_renewal_paid_before_the_period_starts_keeps_current_credits(
    client, db, events, clock
):
    """Stripe may charge an hour early: the running period's grant is not closed yet."""
    sub = await subscribe(client, events)
    clock.advance(days=30, hours=-1)
    events.now = sub["end"] - 3600

    await send_ok(client, renewal_invoice(events, period_start=sub["end"]))

    # The old period's grant ends at the new period's start: it is closed, not kept twice.
    assert (await get_account(client, "user_1"))["balance"] == 1000
    await assert_invariants(db, "user_1")


async def test_unused_credits_expire_after_period_end_plus_grace_without_renewal(
    client, db, events, clock
):
    await subscribe(client, events)

    clock.advance(days=30 + 3)

    acc = await get_account(client, "user_1")
    assert acc["balance"] == 0
    assert (await ledger_entries(client, "user_1"))[-1]["type"] == "expiry"
    await assert_invariants(db, "user_1")


def _activation_invoice(events, **kw) -> dict:
    return events.invoice_event(
        kw.pop("type", "invoice.paid"),
        customer="cus_1",
        subscription="sub_1",
        billing_reason="subscription_create",
        period_start=events.now,
        period_end=events.now + MONTH,
        **kw,
    )


async def test_invoice_paid_then_payment_succeeded_grants_once(client, db, events):
    sub = await subscribe(client, events)
    succeeded = events.invoice_event(
        "invoice.payment_succeeded",
        invoice_id=sub["invoice"],
        customer="cus_1",
        subscription="sub_1",
        billing_reason="subscription_create",
        period_start=sub["start"],
        period_end=sub["end"],
    )

    assert await send_ok(client, succeeded) == "duplicate"

    assert (await get_account(client, "user_1"))["balance"] == 1000
    assert (await stored_event(db, succeeded["id"]))["status"] == "duplicate"
    assert len(await ledger_entries(client, "user_1")) == 1
    await assert_invariants(db, "user_1")


async def test_redelivery_of_the_same_event_answers_duplicate_and_changes_nothing(
    client, db, events
):
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    invoice = _activation_invoice(events)
    assert await send_ok(client, invoice) == "processed"
    before = await snapshot(db)
    stored_before = await stored_event(db, invoice["id"])

    r = await send(client, invoice)

    assert r.status_code == 200 and r.json() == {"status": "duplicate"}
    assert await snapshot(db) == before
    assert await stored_event(db, invoice["id"]) == stored_before
    await assert_invariants(db, "user_1")


async def test_renewal_invoice_redelivered_after_the_next_renewal_changes_nothing(
    client, db, events, clock
):
    sub = await subscribe(client, events)
    clock.advance(days=30)
    events.now = sub["end"]
    first = renewal_invoice(events, period_start=sub["end"])
    await send_ok(client, first)
    balance = (await get_account(client, "user_1"))["balance"]

    again = renewal_invoice(
        events,
        period_start=sub["end"],
        invoice_id=first["data"]["object"]["id"],
        type="invoice.payment_succeeded",
    )
    assert await send_ok(client, again) == "duplicate"

    assert (await get_account(client, "user_1"))["balance"] == balance
    await assert_invariants(db, "user_1")


async def test_credits_held_across_a_renewal_can_still_be_captured(client, db, events, clock):
    sub = await subscribe(client, events)
    clock.advance(days=30, seconds=-60)
    hold = (await reserve(client, "user_1", 200, ttl_seconds=3600)).json()
    clock.advance(seconds=60)
    events.now = sub["end"]

    await send_ok(client, renewal_invoice(events, period_start=sub["end"]))
    assert (await capture(client, hold["id"], 150)).status_code == 200

    # 800 free credits expired with the period; of the 200 held, 150 were spent and 50 expire.
    acc = await get_account(client, "user_1")
    assert (acc["balance"], acc["reserved"]) == (1000, 0)
    await assert_invariants(db, "user_1")
