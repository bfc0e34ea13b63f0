"""Credit packs bought at Checkout: a `purchase` grant of the pack's credits x quantity, named
by metadata.pack, granted once, and only when the payment has settled."""

from stripe_fixtures import DAY

from tests.factories import assert_invariants, live_grants
from tests.webhooks.helpers import (
    assert_every_account,
    entry_by_key,
    get_account,
    pack_checkout,
    same_time,
    send_ok,
    stored_event,
    subscribe,
)


async def test_paid_pack_checkout_grants_the_pack_credits(client, db, events):
    event = pack_checkout(events, pack="boost_500")

    assert await send_ok(client, event) == "processed"

    session_id = event["data"]["object"]["id"]
    acc = await get_account(client, "user_1")
    assert acc["balance"] == 500
    assert acc["stripe_customer_id"] == "cus_1"
    [purchase] = await live_grants(client, "user_1")
    assert (purchase["kind"], purchase["amount"]) == ("purchase", 500)
    assert same_time(purchase["expires_at"], event["created"] + 365 * DAY)
    assert purchase["source"] == f"stripe:checkout:{session_id}"
    assert (await entry_by_key(db, "user_1", f"checkout:{session_id}"))["amount"] == 500
    await assert_invariants(db, "user_1")


async def test_pack_quantity_multiplies_the_credits(client, db, events):
    await send_ok(client, pack_checkout(events, pack="boost_500", quantity=3))

    assert (await get_account(client, "user_1"))["balance"] == 1500
    await assert_invariants(db, "user_1")


async def test_pack_without_expiry_never_expires(client, db, events):
    await send_ok(client, pack_checkout(events, pack="boost_2000"))

    [purchase] = await live_grants(client, "user_1")
    assert (purchase["amount"], purchase["expires_at"]) == (2000, None)
    await assert_invariants(db, "user_1")


async def test_pack_credits_add_to_a_subscription(client, db, events):
    await subscribe(client, events)

    await send_ok(client, pack_checkout(events))

    assert (await get_account(client, "user_1"))["balance"] == 1500
    await assert_invariants(db, "user_1")


async def test_pack_checkout_resent_with_a_new_event_id_grants_once(client, db, events):
    first = pack_checkout(events, session_id="cs_pack")
    await send_ok(client, first)

    again = pack_checkout(events, session_id="cs_pack")
    assert await send_ok(client, again) == "duplicate"

    assert (await get_account(client, "user_1"))["balance"] == 500
    assert (await stored_event(db, again["id"]))["status"] == "duplicate"
    await assert_invariants(db, "user_1")


async def test_unpaid_async_checkout_grants_nothing(client, db, events):
    event = pack_checkout(events, session_id="cs_async", payment_status="unpaid")

    assert await send_ok(client, event) == "processed"

    acc = await get_account(client, "user_1")
    assert acc["balance"] == 0
    assert await live_grants(client, "user_1") == []
    await assert_invariants(db, "user_1")


async def test_async_payment_succeeded_grants_the_pack_once(client, db, events):
    await send_ok(client, pack_checkout(events, session_id="cs_async", payment_status="unpaid"))
    events.advance(3 * DAY)
    succeeded = pack_checkout(
        events, session_id="cs_async", type="checkout.session.async_payment_succeeded"
    )

    assert await send_ok(client, succeeded) == "processed"
    resent = pack_checkout(
        events, session_id="cs_async", type="checkout.session.async_payment_succeeded"
    )
    assert await send_ok(client, resent) == "duplicate"

    assert (await get_account(client, "user_1"))["balance"] == 500
    assert len(await live_grants(client, "user_1")) == 1
    await assert_invariants(db, "user_1")


async def test_async_payment_failed_grants_nothing(client, db, events):
    await send_ok(client, pack_checkout(events, session_id="cs_async", payment_status="unpaid"))
    failed = pack_checkout(
        events,
        session_id="cs_async",
        payment_status="unpaid",
        type="checkout.session.async_payment_failed",
    )

    assert await send_ok(client, failed) == "ignored"

    assert (await get_account(client, "user_1"))["balance"] == 0
    await assert_invariants(db, "user_1")


async def test_unknown_pack_fails_with_a_readable_error(client, db, events):
    event = pack_checkout(events, pack="boost_9000")

    assert await send_ok(client, event) == "failed"

    stored = await stored_event(db, event["id"])
    assert stored["status"] == "failed"
    assert "boost_9000" in stored["error"]
    assert await db["accounts"].count_documents({}) == 0
    await assert_every_account(db)


async def test_bad_quantity_fails_and_grants_nothing(client, db, events):
    event = pack_checkout(events, quantity=0)

    assert await send_ok(client, event) == "failed"

    assert "quantity" in (await stored_event(db, event["id"]))["error"]
    assert await db["grants"].count_documents({}) == 0
    await assert_every_account(db)


async def test_pack_checkout_for_a_linked_customer_without_client_reference(client, db, events):
    await subscribe(client, events)

    await send_ok(client, pack_checkout(events, account=None, customer="cus_1"))

    assert (await get_account(client, "user_1"))["balance"] == 1500
    await assert_invariants(db, "user_1")
