"""Stripe does not deliver in order: events of a customer not linked yet are parked and applied
once it is; older subscription snapshots change nothing; a transient failure answers 500 so
that Stripe's retry applies the event."""

import httpx
from pymongo.errors import AutoReconnect, DuplicateKeyError
from stripe_fixtures import MONTH

from tests.factories import assert_invariants, debit
from tests.webhooks.helpers import (
    PRO,
    STARTER,
    assert_every_account,
    get_account,
    pack_checkout,
    renewal_invoice,
    same_time,
    send,
    send_ok,
    state,
    stored_event,
    subscribe,
)


def _story(events, customer: str, account: str, subscription: str) -> dict:
    """checkout, subscription created, first invoice paid: built at one time, sent as told."""
    start = events.now
    return {
        "checkout": events.checkout_session_completed(
            customer=customer, account_id=account, subscription=subscription
        ),
        "created": events.subscription_event(
            "created",
            subscription_id=subscription,
            customer=customer,
            price=STARTER,
            period_start=start,
            period_end=start + MONTH,
        ),
        "paid": events.invoice_event(
            "invoice.paid",
            customer=customer,
            subscription=subscription,
            price=STARTER,
            billing_reason="subscription_create",
            period_start=start,
            period_end=start + MONTH,
        ),
    }


async def test_events_before_checkout_are_parked(client, db, events):
    story = _story(events, "cus_late", "user_late", "sub_late")

    r1 = await send(client, story["created"])
    r2 = await send(client, story["paid"])

    assert (r1.status_code, r1.json()) == (200, {"status": "parked"})
    assert (r2.status_code, r2.json()) == (200, {"status": "parked"})
    for name in ("created", "paid"):
        stored = await stored_event(db, story[name]["id"])
        assert (stored["status"], stored["customer_id"]) == ("parked", "cus_late")
        assert "cus_late" in stored["error"]
    assert await db["accounts"].count_documents({}) == 0
    await assert_every_account(db)


async def test_parked_events_apply_when_checkout_links_the_customer_like_in_order_delivery(
    client, db, events
):
    late = _story(events, "cus_late", "user_late", "sub_late")
    in_order = _story(events, "cus_ok", "user_ok", "sub_ok")
    for name in ("created", "paid"):
        await send_ok(client, late[name])

    assert await send_ok(client, late["checkout"]) == "processed"
    for name in ("checkout", "created", "paid"):
        await send_ok(client, in_order[name])

    for name in ("created", "paid"):
        stored = await stored_event(db, late[name]["id"])
        assert (stored["status"], stored["account_id"], stored["error"]) == (
            "processed",
            "user_late",
            None,
        )
    assert await state(client, "user_late") == await state(client, "user_ok")
    acc = await get_account(client, "user_late")
    assert (acc["subscription_status"], acc["plan"], acc["balance"]) == ("active", "starter", 1000)
    assert (acc["stripe_customer_id"], acc["stripe_subscription_id"]) == ("cus_late", "sub_late")
    await assert_invariants(db, "user_late")
    await assert_invariants(db, "user_ok")


async def test_parked_invoice_before_its_subscription_event_gives_the_same_state(
    client, db, events
):
    late = _story(events, "cus_late", "user_late", "sub_late")
    in_order = _story(events, "cus_ok", "user_ok", "sub_ok")
    for name in ("paid", "created", "checkout"):
        await send_ok(client, late[name])
    for name in ("checkout", "created", "paid"):
        await send_ok(client, in_order[name])

    assert await state(client, "user_late") == await state(client, "user_ok")
    await assert_invariants(db, "user_late")


async def test_parked_event_applies_when_another_event_names_the_account(client, db, events):
    start = events.now
    parked = events.subscription_event(
        "created",
        subscription_id="sub_1",
        customer="cus_1",
        price=STARTER,
        period_start=start,
        period_end=start + MONTH,
    )
    assert await send_ok(client, parked) == "parked"

    # A later invoice carries metadata.account_id on its subscription details.
    await send_ok(
        client,
        events.invoice_event(
            "invoice.paid",
            customer="cus_1",
            subscription="sub_1",
            price=STARTER,
            billing_reason="subscription_create",
            subscription_metadata={"account_id": "user_1"},
            period_start=start,
            period_end=start + MONTH,
        ),
    )

    assert (await stored_event(db, parked["id"]))["status"] == "processed"
    assert (await get_account(client, "user_1"))["balance"] == 1000
    await assert_invariants(db, "user_1")


async def test_subscription_metadata_account_id_links_without_checkout(client, db, events):
    start = events.now
    event = events.subscription_event(
        "created",
        subscription_id="sub_1",
        customer="cus_1",
        price=STARTER,
        metadata={"account_id": "org:acme"},
        period_start=start,
        period_end=start + MONTH,
    )

    assert await send_ok(client, event) == "processed"

    acc = await get_account(client, "org:acme")
    assert (acc["stripe_customer_id"], acc["subscription_status"]) == ("cus_1", "active")
    await assert_invariants(db, "org:acme")


async def test_event_naming_another_account_for_a_linked_customer_applies_there_link_kept(
    client, db, events
):
    # One Stripe customer paying for two workspaces: the pack names org:beta explicitly.
    await send_ok(
        client, events.checkout_session_completed(customer="cus_1", account_id="org:acme")
    )
    event = pack_checkout(events, account="org:beta", customer="cus_1")

    assert await send_ok(client, event) == "processed"

    assert (await get_account(client, "org:beta"))["balance"] == 500
    assert "stays linked to account 'org:acme'" in (await stored_event(db, event["id"]))["note"]
    link = await db["stripe_customers"].find_one({"_id": "cus_1"})
    assert link["account_id"] == "org:acme"
    await assert_every_account(db)


async def test_older_subscription_update_after_a_newer_one_leaves_the_newer_state(
    client, db, events
):
    start = events.now
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    period = {
        "subscription_id": "sub_1",
        "customer": "cus_1",
        "period_start": start,
        "period_end": start + MONTH,
    }
    older = events.subscription_event("updated", price=STARTER, created=start + 10, **period)
    newer = events.subscription_event(
        "updated", price=PRO, cancel_at_period_end=True, created=start + 20, **period
    )

    await send_ok(client, newer)
    assert await send_ok(client, older) == "processed"

    acc = await get_account(client, "user_1")
    assert acc["plan"] == "pro"
    assert same_time(acc["cancel_at"], start + MONTH)
    stored = await stored_event(db, older["id"])
    assert stored["status"] == "processed"
    assert "older" in stored["note"]
    await assert_invariants(db, "user_1")


async def test_older_unpaid_snapshot_after_recovery_does_not_suspend(client, db, events):
    start = events.now
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    period = {
        "subscription_id": "sub_1",
        "customer": "cus_1",
        "price": STARTER,
        "period_start": start,
        "period_end": start + MONTH,
    }
    unpaid = events.subscription_event("updated", status="unpaid", created=start + 10, **period)
    active = events.subscription_event("updated", status="active", created=start + 20, **period)

    await send_ok(client, active)
    await send_ok(client, unpaid)

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["suspended_reason"]) == ("active", None)
    await assert_invariants(db, "user_1")


async def test_same_second_snapshots_order_by_period(client, db, events):
    start = events.now
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    base = {
        "subscription_id": "sub_1",
        "customer": "cus_1",
        "price": STARTER,
        "created": start + MONTH,
    }
    renewed = events.subscription_event(
        "updated", period_start=start + MONTH, period_end=start + 2 * MONTH, **base
    )
    previous = events.subscription_event(
        "updated", period_start=start, period_end=start + MONTH, **base
    )

    await send_ok(client, renewed)
    await send_ok(client, previous)

    assert same_time((await get_account(client, "user_1"))["current_period_end"], start + 2 * MONTH)
    await assert_invariants(db, "user_1")


async def test_older_renewal_invoice_does_not_move_the_period_back(client, db, events, clock):
    sub = await subscribe(client, events)
    clock.advance(days=60)
    events.now = sub["end"] + MONTH
    await send_ok(client, renewal_invoice(events, period_start=sub["end"] + MONTH))

    # The first renewal's invoice, delivered after the second's.
    await send_ok(client, renewal_invoice(events, period_start=sub["end"], created=sub["end"]))

    acc = await get_account(client, "user_1")
    assert same_time(acc["current_period_end"], sub["end"] + 2 * MONTH)
    await assert_invariants(db, "user_1")


async def test_transient_failure_answers_503_and_stripes_retry_applies_the_event(
    app, db, events, monkeypatch
):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    customers = app.state.services.webhooks.stores.customers
    real = customers.account_for
    calls = {"n": 0}

    async def flaky(session, customer_id):
        calls["n"] += 1
        if calls["n"] == 1:
            raise AutoReconnect("primary stepped down")
        return await real(session, customer_id)

    monkeypatch.setattr(customers, "account_for", flaky)
    event = events.checkout_session_completed(customer="cus_1", account_id="user_1")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = await send(client, event)
        assert first.status_code == 503
        assert first.headers["content-type"] == "application/problem+json"
        assert first.json()["code"] == "database_unavailable"
        assert (await stored_event(db, event["id"]))["status"] == "received"

        retry = await send(client, event)

        assert (retry.status_code, retry.json()) == (200, {"status": "processed"})
        stored = await stored_event(db, event["id"])
        assert (stored["status"], stored["attempts"]) == ("processed", 2)
        assert (await get_account(client, "user_1"))["stripe_customer_id"] == "cus_1"
    await assert_invariants(db, "user_1")


async def test_parked_account_can_debit_once_linked(client, db, events):
    story = _story(events, "cus_1", "user_1", "sub_1")
    await send_ok(client, story["paid"])
    await send_ok(client, story["checkout"])

    assert (await debit(client, "user_1", 1000)).status_code == 201
    # The period and its credits came from the parked invoice.
    assert (await get_account(client, "user_1"))["current_period_end"] is not None
    await assert_invariants(db, "user_1")


async def test_event_parked_while_its_customer_gets_linked_is_still_applied(
    app, client, db, events, monkeypatch
):
    story = _story(events, "cus_1", "user_1", "sub_1")
    repo = app.state.services.webhooks.events
    record = repo.fail

    async def link_in_between(event_id, token, attempts, fields):
        # The checkout commits (and drains the customer's parked events) after this event's
        # attempt found no account but before the attempt is recorded as parked.
        if fields["status"] == "parked" and event_id == story["paid"]["id"]:
            monkeypatch.setattr(repo, "fail", record)
            assert await send_ok(client, story["checkout"]) == "processed"
        await record(event_id, token, attempts, fields)

    monkeypatch.setattr(repo, "fail", link_in_between)

    assert await send_ok(client, story["paid"]) == "processed"

    assert (await stored_event(db, story["paid"]["id"]))["status"] == "processed"
    assert (await get_account(client, "user_1"))["balance"] == 1000
    await assert_invariants(db, "user_1")


async def test_customer_linked_concurrently_answers_500_so_stripe_retries(
    app, db, events, monkeypatch
):
    customers = app.state.services.webhooks.stores.customers
    link = customers.link

    async def linked_by_someone_else_first(session, customer_id, account_id, now):
        monkeypatch.setattr(customers, "link", link)
        await link(session, customer_id, account_id, now)  # the other event's link
        raise DuplicateKeyError("E11000 duplicate key error: stripe_customers _id")

    monkeypatch.setattr(customers, "link", linked_by_someone_else_first)
    event = events.checkout_session_completed(customer="cus_1", account_id="user_1")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await send(client, event)).status_code == 500
        assert (await stored_event(db, event["id"]))["status"] == "received"

        assert await send_ok(client, event) == "processed"

        assert (await get_account(client, "user_1"))["stripe_subscription_id"] == "sub_test"
    await assert_invariants(db, "user_1")


async def test_customer_metadata_links_the_customer_and_applies_its_parked_events(
    client, db, events
):
    story = _story(events, "cus_1", "user_1", "sub_1")
    for name in ("created", "paid"):
        assert await send_ok(client, story[name]) == "parked"

    linked = events.customer_event(
        "customer.updated", customer="cus_1", metadata={"account_id": "user_1"}
    )
    assert await send_ok(client, linked) == "processed"

    acc = await get_account(client, "user_1")
    assert (acc["stripe_customer_id"], acc["subscription_status"], acc["balance"]) == (
        "cus_1",
        "active",
        1000,
    )
    for name in ("created", "paid"):
        assert (await stored_event(db, story[name]["id"]))["status"] == "processed"
    await assert_invariants(db, "user_1")


async def test_customer_metadata_naming_another_account_than_the_link_keeps_the_link(
    client, db, events
):
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    event = events.customer_event(
        "customer.updated", customer="cus_1", metadata={"account_id": "user_2"}
    )

    assert await send_ok(client, event) == "processed"

    assert "stays linked to account 'user_1'" in (await stored_event(db, event["id"]))["note"]
    link = await db["stripe_customers"].find_one({"_id": "cus_1"})
    assert link["account_id"] == "user_1"
    await assert_every_account(db)


async def test_subscription_created_after_an_update_of_the_same_second_changes_nothing(
    client, db, events
):
    """Stripe sends `created` (incomplete) and `updated` (active) within one second; the
    update is the later state, whatever order they arrive in."""
    start = events.now
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    same = {
        "subscription_id": "sub_1",
        "customer": "cus_1",
        "price": STARTER,
        "period_start": start,
        "period_end": start + MONTH,
        "created": start,
    }
    created = events.subscription_event("created", status="incomplete", **same)
    updated = events.subscription_event(
        "updated", status="active", **same, previous_attributes={"status": "incomplete"}
    )

    await send_ok(client, updated)
    await send_ok(client, created)

    assert (await get_account(client, "user_1"))["subscription_status"] == "active"
    await assert_invariants(db, "user_1")
