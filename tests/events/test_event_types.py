"""Every event type, from the cause that makes it."""

from datetime import timedelta

from stripe_fixtures import MONTH

from tests.events.helpers import assert_numbered, events_of, types_of
from tests.factories import assert_invariants, debit, make_account, reserve
from tests.webhooks.helpers import (
    advance,
    example_catalog,
    renewal_invoice,
    send_ok,
    subscribe,
)


async def _sweep(app) -> int:
    return await app.state.services.notices.run()


async def test_renewal_with_rollover_expires_then_grants_in_order(app_with, db, events, clock):
    catalog = example_catalog()
    catalog["plans"]["starter"]["rollover"] = "max:500"
    _, client = await app_with(catalog)
    sub = await subscribe(client, events)
    await debit(client, "user_1", 300)
    before = len(await events_of(client, "user_1"))

    clock.advance(days=30)
    events.now = sub["end"]
    assert await send_ok(client, renewal_invoice(events, period_start=sub["end"])) == "processed"

    renewal = (await events_of(client, "user_1"))[before:]
    credit_types = [e["type"] for e in renewal if e["type"].startswith("credits.")]
    assert credit_types == ["credits.expired", "credits.granted"]
    expired = renewal[0]["data"]["entry"]
    assert (expired["type"], expired["amount"]) == ("expiry", -200)
    # Expiring 200 and granting 1000 in one transaction is no balance alert.
    assert not [e for e in renewal if e["type"].startswith("balance.")]
    assert_numbered(await events_of(client, "user_1"))
    await assert_invariants(db, "user_1")


async def test_grant_expiring_in_2_days_is_noticed_once(app, client, db, clock):
    await make_account(client, "user_1", 100, expires_at=clock.now() + timedelta(days=2))
    await make_account(client, "user_1", 100, expires_at=clock.now() + timedelta(days=9))

    assert await _sweep(app) == 1
    clock.advance(hours=1)
    assert await _sweep(app) == 0

    expiring = await events_of(client, "user_1", type="credits.expiring")
    assert len(expiring) == 1
    data = expiring[0]["data"]
    assert data["remaining"] == 100 and data["grant"]["remaining"] == 100
    assert data["expires_at"] == data["grant"]["expires_at"]
    await assert_invariants(db, "user_1")


async def test_spent_grant_gets_no_expiry_notice(app, client, db, clock):
    await make_account(client, "user_1", 100, expires_at=clock.now() + timedelta(days=2))
    await debit(client, "user_1", 100)

    assert await _sweep(app) == 0
    await assert_invariants(db, "user_1")


async def test_expiry_entry_is_credits_expired(app, client, db, clock):
    await make_account(client, "user_1", 100, expires_at=clock.now() + timedelta(days=2))
    clock.advance(days=3)

    await client.get("/v1/accounts/user_1", headers={"Authorization": "Bearer key-reader"})

    expired = await events_of(client, "user_1", type="credits.expired")
    assert [e["data"]["entry"]["amount"] for e in expired] == [-100]
    await assert_invariants(db, "user_1")


async def test_failed_payment_past_grace_suspends_and_recovery_restores(
    app, client, db, events, clock
):
    sub = await subscribe(client, events)
    clock.advance(days=30)
    events.now = sub["end"]
    failed = renewal_invoice(events, period_start=sub["end"], type="invoice.payment_failed")
    assert await send_ok(client, failed) == "processed"
    updated = await events_of(client, "user_1", type="subscription.updated")
    assert updated[-1]["data"]["before"]["subscription_status"] == "active"
    assert updated[-1]["data"]["after"]["subscription_status"] == "past_due"
    await _sweep(app)
    assert await types_of(client, "user_1", type="access.suspended") == []  # within grace

    advance(clock, events, days=4)
    await _sweep(app)
    await _sweep(app)

    suspended = await events_of(client, "user_1", type="access.suspended")
    assert [e["data"]["reason"] for e in suspended] == ["past_due"]
    paid = renewal_invoice(
        events, period_start=sub["end"], invoice_id=failed["data"]["object"]["id"]
    )
    assert await send_ok(client, paid) == "processed"
    restored = await events_of(client, "user_1", type="access.restored")
    assert [e["data"]["reason"] for e in restored] == ["past_due"]
    assert restored[0]["data"]["account"]["suspended_reason"] is None
    types = await types_of(client, "user_1")
    assert types.index("access.suspended") < types.index("access.restored")
    assert types[-1] != "access.suspended"
    assert_numbered(await events_of(client, "user_1"))
    await assert_invariants(db, "user_1")


async def test_subscription_updated_shows_fields_before_and_after(client, db, events):
    sub = await subscribe(client, events)

    assert (
        await send_ok(
            client,
            events.subscription_event(
                "updated",
                subscription_id="sub_1",
                customer="cus_1",
                price="price_starter_monthly",
                period_start=sub["start"],
                period_end=sub["end"],
                cancel_at_period_end=True,
            ),
        )
        == "processed"
    )

    last = (await events_of(client, "user_1", type="subscription.updated"))[-1]["data"]
    assert last["before"]["cancel_at"] is None
    assert last["after"]["cancel_at"] is not None
    assert last["after"]["plan"] == "starter"
    await assert_invariants(db, "user_1")


async def test_hold_reaching_its_deadline_unused_is_reservation_expired(client, db, clock):
    await make_account(client, "user_1", 100)
    hold = (await reserve(client, "user_1", 30, ttl_seconds=60)).json()

    clock.advance(seconds=61)
    await client.get("/v1/accounts/user_1", headers={"Authorization": "Bearer key-reader"})

    expired = await events_of(client, "user_1", type="reservation.expired")
    assert [e["data"]["reservation"]["id"] for e in expired] == [hold["id"]]
    assert expired[0]["data"]["reservation"]["status"] == "expired"
    await assert_invariants(db, "user_1")


async def test_failed_stripe_event_alerts_operators_once(app, client, db, events):
    await subscribe(client, events)
    unknown = renewal_invoice(events, period_start=events.now + MONTH, price="price_unknown")
    assert await send_ok(client, unknown) == "failed"

    await _sweep(app)
    await _sweep(app)

    alerts = await events_of(client, type="stripe_event.failed")
    assert len(alerts) == 1
    assert alerts[0]["data"]["stripe_event"]["id"] == unknown["id"]
    assert alerts[0]["data"]["stripe_event"]["status"] == "failed"


async def test_event_parked_too_long_alerts_operators(app, client, db, events, clock):
    orphan = renewal_invoice(
        events, period_start=events.now, customer="cus_nobody", subscription="sub_nobody"
    )
    assert await send_ok(client, orphan) == "parked"

    await _sweep(app)
    assert await events_of(client, type="stripe_event.failed") == []
    clock.advance(minutes=61)
    await _sweep(app)

    (alert,) = await events_of(client, type="stripe_event.failed")
    assert alert["account_id"] is None
    assert alert["data"]["stripe_event"]["status"] == "parked"
