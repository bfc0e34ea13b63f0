"""The spec's lifecycle table, row by row: checkout, trial, activation, cancellation, unpaid and
paused, deletion, and event types the service does not handle."""

from stripe_fixtures import DAY, MONTH

from tests.factories import assert_invariants, assert_problem, debit, grant, live_grants
from tests.support.settings import auth
from tests.webhooks.helpers import (
    STARTER,
    assert_every_account,
    entry_by_key,
    get_account,
    ledger_entries,
    pack_checkout,
    same_time,
    send,
    send_ok,
    stored_event,
    subscribe,
)


async def test_subscription_checkout_links_customer_and_subscription_without_credits(
    client, db, events
):
    event = events.checkout_session_completed(
        customer="cus_1", account_id="user_1", subscription="sub_1"
    )

    assert await send_ok(client, event) == "processed"

    acc = await get_account(client, "user_1")
    assert acc["stripe_customer_id"] == "cus_1"
    assert acc["stripe_subscription_id"] == "sub_1"
    assert acc["balance"] == 0
    assert acc["subscription_status"] == "none"
    assert await live_grants(client, "user_1") == []
    assert (await stored_event(db, event["id"]))["account_id"] == "user_1"
    assert await db["stripe_customers"].find_one({"_id": "cus_1"}) is not None
    await assert_invariants(db, "user_1")


async def test_trialing_subscription_grants_trial_credits_expiring_at_trial_end(client, db, events):
    start = events.now
    trial_end = start + 14 * DAY
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))

    await send_ok(
        client,
        events.subscription_event(
            "created",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            status="trialing",
            trial_end=trial_end,
            period_start=start,
            period_end=trial_end,
        ),
    )

    acc = await get_account(client, "user_1")
    assert acc["subscription_status"] == "trialing"
    assert acc["plan"] == "starter"
    assert acc["balance"] == 100
    [trial] = await live_grants(client, "user_1")
    assert trial["kind"] == "trial" and trial["amount"] == 100
    assert same_time(trial["expires_at"], trial_end)
    assert (await entry_by_key(db, "user_1", "trial:sub_1"))["amount"] == 100
    await assert_invariants(db, "user_1")


async def test_the_zero_dollar_trial_invoice_grants_nothing(client, db, events):
    start = events.now
    trial_end = start + 14 * DAY
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    await send_ok(
        client,
        events.subscription_event(
            "created",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            status="trialing",
            trial_end=trial_end,
            period_start=start,
            period_end=trial_end,
        ),
    )
    invoice = events.invoice_event(
        "invoice.paid",
        customer="cus_1",
        subscription="sub_1",
        price=STARTER,
        billing_reason="subscription_create",
        amount_due=0,
        period_start=start,
        period_end=trial_end,
    )

    assert await send_ok(client, invoice) == "processed"

    acc = await get_account(client, "user_1")
    assert acc["balance"] == 100
    assert acc["subscription_status"] == "trialing"
    assert [g["kind"] for g in await live_grants(client, "user_1")] == ["trial"]
    assert await entry_by_key(db, "user_1", f"invoice:{invoice['data']['object']['id']}") is None
    await assert_invariants(db, "user_1")


async def test_trial_credits_expire_at_trial_end(client, db, events, clock):
    start = events.now
    trial_end = start + 14 * DAY
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    await send_ok(
        client,
        events.subscription_event(
            "created",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            status="trialing",
            trial_end=trial_end,
            period_start=start,
            period_end=trial_end,
        ),
    )

    clock.advance(days=14)

    assert (await get_account(client, "user_1"))["balance"] == 0
    assert (await ledger_entries(client, "user_1"))[-1]["type"] == "expiry"
    await assert_invariants(db, "user_1")


async def test_trial_redelivered_as_subscription_updated_grants_once(client, db, events):
    start = events.now
    trial_end = start + 14 * DAY
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    for type_ in ("created", "updated"):
        await send_ok(
            client,
            events.subscription_event(
                type_,
                subscription_id="sub_1",
                customer="cus_1",
                price=STARTER,
                status="trialing",
                trial_end=trial_end,
                period_start=start,
                period_end=trial_end,
            ),
        )

    assert (await get_account(client, "user_1"))["balance"] == 100
    await assert_invariants(db, "user_1")


async def test_first_paid_invoice_activates_with_monthly_credits_until_period_end_plus_grace(
    client, db, events
):
    sub = await subscribe(client, events)

    acc = await get_account(client, "user_1")
    assert acc["subscription_status"] == "active"
    assert acc["plan"] == "starter"
    assert acc["balance"] == 1000
    assert same_time(acc["current_period_end"], sub["end"])
    [credits] = await live_grants(client, "user_1")
    assert credits["kind"] == "subscription" and credits["amount"] == 1000
    assert same_time(credits["expires_at"], sub["end"] + 3 * DAY)
    assert credits["source"] == f"stripe:invoice:{sub['invoice']}"
    entry = await entry_by_key(db, "user_1", f"invoice:{sub['invoice']}")
    assert entry["type"] == "grant" and entry["amount"] == 1000
    await assert_invariants(db, "user_1")


async def test_activation_by_invoice_alone_sets_status_plan_and_period(client, db, events):
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    start = events.now

    await send_ok(
        client,
        events.invoice_event(
            "invoice.paid",
            customer="cus_1",
            subscription="sub_1",
            price=STARTER,
            billing_reason="subscription_create",
            period_start=start,
            period_end=start + MONTH,
        ),
    )

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["plan"], acc["balance"]) == ("active", "starter", 1000)
    assert same_time(acc["current_period_end"], start + MONTH)
    await assert_invariants(db, "user_1")


async def test_invoice_paid_for_a_proration_grants_nothing(client, db, events):
    await subscribe(client, events)
    invoice = events.invoice_event(
        "invoice.paid",
        customer="cus_1",
        subscription="sub_1",
        price=STARTER,
        billing_reason="subscription_update",
        proration=True,
        amount_due=500,
    )

    assert await send_ok(client, invoice) == "processed"

    assert (await get_account(client, "user_1"))["balance"] == 1000
    assert (await stored_event(db, invoice["id"]))["status"] == "processed"
    await assert_invariants(db, "user_1")


async def test_manual_invoice_grants_nothing(client, db, events):
    await subscribe(client, events)

    await send_ok(
        client,
        events.invoice_event(
            "invoice.paid",
            customer="cus_1",
            subscription="sub_1",
            price=STARTER,
            billing_reason="manual",
        ),
    )

    assert (await get_account(client, "user_1"))["balance"] == 1000
    await assert_invariants(db, "user_1")


async def test_invoice_without_a_subscription_is_ignored(client, db, events):
    await subscribe(client, events)
    invoice = events.invoice_event(
        "invoice.paid", customer="cus_1", subscription=None, billing_reason="manual"
    )

    assert await send_ok(client, invoice) == "ignored"

    assert (await get_account(client, "user_1"))["balance"] == 1000
    await assert_invariants(db, "user_1")


async def test_cancel_at_period_end_shows_cancel_at_and_access_continues(client, db, events):
    sub = await subscribe(client, events)
    events.advance(60)

    await send_ok(
        client,
        events.subscription_event(
            "updated",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            period_start=sub["start"],
            period_end=sub["end"],
            cancel_at_period_end=True,
            previous_attributes={"cancel_at_period_end": False},
        ),
    )

    acc = await get_account(client, "user_1")
    assert same_time(acc["cancel_at"], sub["end"])
    assert acc["subscription_status"] == "active"
    assert acc["suspended_reason"] is None
    assert (await debit(client, "user_1", 10)).status_code == 201
    await assert_invariants(db, "user_1")


async def test_undoing_cancel_at_period_end_clears_cancel_at(client, db, events):
    sub = await subscribe(client, events)
    for cancel in (True, False):
        events.advance(60)
        await send_ok(
            client,
            events.subscription_event(
                "updated",
                subscription_id="sub_1",
                customer="cus_1",
                price=STARTER,
                period_start=sub["start"],
                period_end=sub["end"],
                cancel_at_period_end=cancel,
            ),
        )

    assert (await get_account(client, "user_1"))["cancel_at"] is None
    await assert_invariants(db, "user_1")


async def _suspend(client, events, sub, status: str, type_: str = "updated") -> None:
    events.advance(60)
    await send_ok(
        client,
        events.subscription_event(
            type_,
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            status=status,
            period_start=sub["start"],
            period_end=sub["end"],
        ),
    )


async def test_unpaid_subscription_suspends_access_with_reason_unpaid(client, db, events):
    sub = await subscribe(client, events)

    await _suspend(client, events, sub, "unpaid")

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["suspended_reason"]) == ("unpaid", "unpaid")
    body = assert_problem(await debit(client, "user_1", 10), 403, "access_suspended")
    assert "unpaid" in body["detail"]
    assert acc["balance"] == 1000  # credits are kept, only refused
    await assert_invariants(db, "user_1")


async def test_paused_subscription_suspends_access_with_reason_paused(client, db, events):
    sub = await subscribe(client, events)

    await _suspend(client, events, sub, "paused", "customer.subscription.paused")

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["suspended_reason"]) == ("paused", "paused")
    assert_problem(await debit(client, "user_1", 10), 403, "access_suspended")
    await assert_invariants(db, "user_1")


async def test_resumed_subscription_restores_access(client, db, events):
    sub = await subscribe(client, events)
    await _suspend(client, events, sub, "paused", "customer.subscription.paused")

    await _suspend(client, events, sub, "active", "customer.subscription.resumed")

    assert (await get_account(client, "user_1"))["suspended_reason"] is None
    assert (await debit(client, "user_1", 10)).status_code == 201
    await assert_invariants(db, "user_1")


async def test_suspension_also_refuses_reservations(client, db, events):
    sub = await subscribe(client, events)
    await _suspend(client, events, sub, "unpaid")

    r = await client.post(
        "/v1/accounts/user_1/reservations",
        json={"amount": 5},
        headers={**auth("worker"), "Idempotency-Key": "r1"},
    )

    assert_problem(r, 403, "access_suspended")
    await assert_invariants(db, "user_1")


async def test_deletion_expires_period_credits_and_keeps_purchased_and_bonus(client, db, events):
    sub = await subscribe(client, events)
    await send_ok(client, pack_checkout(events, payment_intent="pi_pack"))
    await grant(client, "user_1", 50, kind="bonus")
    assert (await debit(client, "user_1", 100)).status_code == 201  # from the subscription grant
    events.advance(DAY)

    deleted = events.subscription_event(
        "deleted",
        subscription_id="sub_1",
        customer="cus_1",
        price=STARTER,
        period_start=sub["start"],
        period_end=sub["end"],
    )
    assert await send_ok(client, deleted) == "processed"

    acc = await get_account(client, "user_1")
    assert acc["subscription_status"] == "canceled"
    assert acc["balance"] == 550
    assert sorted(g["kind"] for g in await live_grants(client, "user_1")) == ["bonus", "purchase"]
    expiry = (await ledger_entries(client, "user_1"))[-1]
    assert (expiry["type"], expiry["amount"]) == ("expiry", -900)
    assert (await debit(client, "user_1", 550)).status_code == 201
    await assert_invariants(db, "user_1")


async def test_deletion_expires_trial_and_rollover_credits(client, db, events):
    start = events.now
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    await send_ok(
        client,
        events.subscription_event(
            "created",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            status="trialing",
            trial_end=start + 14 * DAY,
            period_start=start,
            period_end=start + 14 * DAY,
        ),
    )

    await send_ok(
        client,
        events.subscription_event(
            "deleted",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            period_start=start,
            period_end=start + 14 * DAY,
        ),
    )

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["balance"]) == ("canceled", 0)
    assert await live_grants(client, "user_1") == []
    await assert_invariants(db, "user_1")


async def test_late_invoice_paid_after_deletion_does_not_revive_the_subscription(
    client, db, events
):
    sub = await subscribe(client, events)
    events.advance(DAY)
    await send_ok(
        client,
        events.subscription_event(
            "deleted",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            period_start=sub["start"],
            period_end=sub["end"],
        ),
    )

    # The renewal invoice of a canceled subscription, delivered late.
    await send_ok(
        client,
        events.invoice_event(
            "invoice.paid",
            customer="cus_1",
            subscription="sub_1",
            price=STARTER,
            billing_reason="subscription_cycle",
            period_start=sub["end"],
            period_end=sub["end"] + MONTH,
        ),
    )

    assert (await get_account(client, "user_1"))["subscription_status"] == "canceled"
    await assert_invariants(db, "user_1")


async def test_unhandled_event_type_is_recorded_as_ignored(client, db, events):
    await subscribe(client, events)
    event = events.event("product.created", {"id": "prod_1", "object": "product"})

    r = await send(client, event)

    assert r.status_code == 200 and r.json() == {"status": "ignored"}
    assert (await stored_event(db, event["id"]))["status"] == "ignored"
    assert (await get_account(client, "user_1"))["balance"] == 1000
    await assert_invariants(db, "user_1")


async def test_customer_event_without_an_account_in_its_metadata_is_ignored(client, db, events):
    event = events.customer_event("customer.created", customer="cus_9")

    assert await send_ok(client, event) == "ignored"
    assert (await stored_event(db, event["id"]))["status"] == "ignored"
    assert await db["stripe_customers"].count_documents({}) == 0
    await assert_every_account(db)


async def test_trial_converts_to_paid_at_trial_end(client, db, events, clock):
    start = events.now
    trial_end = start + 14 * DAY
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    await send_ok(
        client,
        events.subscription_event(
            "created",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            status="trialing",
            trial_end=trial_end,
            period_start=start,
            period_end=trial_end,
        ),
    )
    assert (await debit(client, "user_1", 40)).status_code == 201
    clock.advance(days=14)
    events.now = trial_end

    await send_ok(
        client,
        events.subscription_event(
            "updated",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            status="active",
            trial_end=trial_end,
            period_start=trial_end,
            period_end=trial_end + MONTH,
        ),
    )
    await send_ok(
        client,
        events.invoice_event(
            "invoice.paid",
            customer="cus_1",
            subscription="sub_1",
            price=STARTER,
            billing_reason="subscription_cycle",
            period_start=trial_end,
            period_end=trial_end + MONTH,
        ),
    )

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["balance"]) == ("active", 1000)
    assert [g["kind"] for g in await live_grants(client, "user_1")] == ["subscription"]
    await assert_invariants(db, "user_1")


async def test_resubscribing_after_deletion_activates_the_new_subscription(
    client, db, events, clock
):
    sub = await subscribe(client, events)
    events.advance(DAY)
    clock.advance(days=1)
    await send_ok(
        client,
        events.subscription_event(
            "deleted",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            period_start=sub["start"],
            period_end=sub["end"],
        ),
    )
    clock.advance(days=5)
    events.now = int(clock.now().timestamp())

    # Checkout first, then the new subscription's invoice, then its snapshot.
    start = events.now
    await send_ok(
        client,
        events.checkout_session_completed(
            customer="cus_1", account_id="user_1", subscription="sub_2"
        ),
    )
    await send_ok(
        client,
        events.invoice_event(
            "invoice.paid",
            customer="cus_1",
            subscription="sub_2",
            price=STARTER,
            billing_reason="subscription_create",
            period_start=start,
            period_end=start + MONTH,
        ),
    )

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["stripe_subscription_id"]) == ("active", "sub_2")
    assert acc["balance"] == 1000
    await assert_invariants(db, "user_1")


async def test_failed_first_payment_of_a_resubscription_marks_past_due(client, db, events, clock):
    sub = await subscribe(client, events)
    await send_ok(
        client,
        events.subscription_event(
            "deleted",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            period_start=sub["start"],
            period_end=sub["end"],
        ),
    )
    clock.advance(days=5)
    events.now = int(clock.now().timestamp())
    await send_ok(
        client,
        events.checkout_session_completed(
            customer="cus_1", account_id="user_1", subscription="sub_2"
        ),
    )

    await send_ok(
        client,
        events.invoice_event(
            "invoice.payment_failed",
            customer="cus_1",
            subscription="sub_2",
            price=STARTER,
            billing_reason="subscription_create",
        ),
    )

    acc = await get_account(client, "user_1")
    assert acc["subscription_status"] == "past_due"
    assert acc["grace_until"] is not None
    await assert_invariants(db, "user_1")


async def test_late_failure_of_a_canceled_subscription_changes_nothing(client, db, events):
    sub = await subscribe(client, events)
    events.advance(60)
    await send_ok(
        client,
        events.subscription_event(
            "deleted",
            subscription_id="sub_1",
            customer="cus_1",
            price=STARTER,
            period_start=sub["start"],
            period_end=sub["end"],
        ),
    )

    await send_ok(
        client,
        events.invoice_event(
            "invoice.payment_failed",
            customer="cus_1",
            subscription="sub_1",
            price=STARTER,
            billing_reason="subscription_cycle",
        ),
    )

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["grace_until"]) == ("canceled", None)
    await assert_invariants(db, "user_1")
