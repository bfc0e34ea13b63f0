"""A Stripe event that fails is linked in the log to the account it concerns whenever its
customer is linked or the payload names the account (client_reference_id, metadata), so the
account's page and `GET /v1/webhook-events?account_id=` show it."""

from __future__ import annotations

from tests.factories import make_account
from tests.webhooks.helpers import (
    get_account,
    pack_checkout,
    send_ok,
    stored_event,
    webhook_events,
)


async def _linked(client, events, account: str, customer: str) -> None:
    linking = events.customer_event(customer=customer, metadata={"account_id": account})
    assert await send_ok(client, linking) == "processed"


async def test_a_failed_event_of_a_linked_customer_names_its_account(client, db, events):
    await make_account(client, "user_5", 10)
    await _linked(client, events, "user_5", "cus_5")
    unknown = events.subscription_event(
        "customer.subscription.created", customer="cus_5", price="price_not_in_catalog"
    )

    assert await send_ok(client, unknown) == "failed"

    stored = await stored_event(db, unknown["id"])
    assert (stored["account_id"], stored["customer_id"]) == ("user_5", "cus_5")
    assert "price_not_in_catalog" in stored["error"]
    listed = (await webhook_events(client, account_id="user_5", status="failed")).json()["data"]
    assert [e["id"] for e in listed] == [unknown["id"]]
    assert (await get_account(client, "user_5"))["subscription_status"] == "none"


async def test_a_failed_checkout_names_its_client_reference_id(client, db, events):
    checkout = pack_checkout(events, account="user_6", customer="cus_6", pack="no_such_pack")

    assert await send_ok(client, checkout) == "failed"

    stored = await stored_event(db, checkout["id"])
    assert (stored["account_id"], stored["customer_id"]) == ("user_6", "cus_6")


async def test_a_failed_invoice_names_the_account_of_its_subscription_metadata(client, db, events):
    invoice = events.invoice_event(
        customer="cus_7",
        price="price_not_in_catalog",
        subscription_metadata={"account_id": "user_7"},
    )

    assert await send_ok(client, invoice) == "failed"

    stored = await stored_event(db, invoice["id"])
    assert (stored["account_id"], stored["customer_id"]) == ("user_7", "cus_7")


async def test_a_failed_event_that_names_no_account_stays_unlinked(client, db, events):
    invoice = events.invoice_event(customer="cus_8", price="price_not_in_catalog")

    assert await send_ok(client, invoice) in ("failed", "parked")

    stored = await stored_event(db, invoice["id"])
    assert stored["account_id"] is None
