"""An account's second Stripe customer: one whose own `metadata.account_id` names the account
(the first customer was deleted, and the product made a new one), or one a Checkout Session
made for the account. It links on its first event, whatever the account's other customers;
its events parked meanwhile are applied, and a replay does not park them again."""

import pytest
import stripe
from stripe_fixtures import StripeEvents

from app.storage.database import CUSTOMERS
from tests.factories import assert_invariants, live_grants
from tests.support.settings import auth
from tests.webhooks.fake_stripe_api import API_KEY, FakeStripeAPI
from tests.webhooks.helpers import access, get_account, same_time, stored_event
from tests.webhooks.shapes_story import MONTH, STARTER, Story, shapes_catalog

LAYOUTS = ["current", "legacy"]


@pytest.fixture
async def client(app_with):
    return (await app_with(shapes_catalog()))[1]


def _customer(story: Story, customer: str, account_id: str | None) -> dict:
    """The `customer` fixture (stripe-python 16's Customer), with the product's metadata."""
    events = StripeEvents("endive" if story.layout == "current" else "legacy", now=story.now)
    meta = {"account_id": account_id} if account_id else {}
    return events.customer_event(customer=customer, metadata=meta)["data"]["object"]


async def _first_customer_deleted(client, clock, layout: str) -> Story:
    """user_1 subscribed as cus_1 (Checkout, client_reference_id), then cus_1 was deleted,
    which cancels its subscription at once; a week later."""
    first = Story(client, clock, layout)
    await first.subscribe(STARTER)
    clock.advance(days=3)
    ended = first.subscription([(STARTER, 1)], first.now - 3 * 86_400, first.now + 27 * 86_400)
    ended.update(status="canceled", canceled_at=first.now, ended_at=first.now)
    assert await first.send("customer.subscription.deleted", ended) == "processed"
    assert await first.send("customer.deleted", _customer(first, "cus_1", None)) == "ignored"
    clock.advance(days=4)
    return Story(client, clock, layout, customer="cus_2", sub="sub_2")


def _second_subscription(second: Story) -> tuple[dict, dict]:
    """cus_2's subscription (made through the API: no metadata) and its first invoice."""
    start, end = second.now, second.now + MONTH
    created = second.subscription([(STARTER, 1)], start, end)
    first_invoice = second.invoice([second.plan(STARTER, start, end)], "subscription_create")
    return created, first_invoice


async def _assert_second_customer_subscribed(client, db, second: Story) -> None:
    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["subscription_status"], acc["balance"]) == ("starter", "active", 1000)
    assert acc["stripe_subscription_id"] == "sub_2"
    assert same_time(acc["current_period_end"], second.now + MONTH)
    grants = await live_grants(client, "user_1")
    assert [(g["kind"], g["amount"]) for g in grants] == [("subscription", 1000)]
    assert (await access(client, "user_1"))["allowed"] is True
    links = await db[CUSTOMERS].find({}).sort("_id", 1).to_list(None)
    assert [(link["_id"], link["account_id"]) for link in links] == [
        ("cus_1", "user_1"),
        ("cus_2", "user_1"),
    ]
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_a_second_customer_named_by_its_metadata_links_on_its_first_event(
    client, db, clock, layout
):
    """Stripe: "Delete a customer" (its subscriptions are canceled at once), "Metadata" (the
    product's own key on the Customer), "Using webhooks with subscriptions" (customer.created,
    then customer.subscription.created, then invoice.paid)."""
    second = await _first_customer_deleted(client, clock, layout)
    created, first_invoice = _second_subscription(second)

    customer = _customer(second, "cus_2", "user_1")
    assert await second.send("customer.created", customer) == "processed"
    assert await second.send("customer.subscription.created", created) == "processed"
    assert await second.send("invoice.paid", first_invoice) == "processed"

    assert (await get_account(client, "user_1"))["stripe_customer_id"] == "cus_2"
    await _assert_second_customer_subscribed(client, db, second)


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_events_parked_before_the_second_customer_is_named_are_applied_then(
    client, db, clock, layout
):
    """Stripe: "Event delivery" (events are not delivered in order: the subscription and its
    paid invoice may come before customer.created) and "Metadata" (the account named on the
    Customer)."""
    second = await _first_customer_deleted(client, clock, layout)
    created, first_invoice = _second_subscription(second)
    assert await second.send("customer.subscription.created", created) == "parked"
    assert await second.send("invoice.paid", first_invoice) == "parked"

    customer = _customer(second, "cus_2", "user_1")
    assert await second.send("customer.created", customer) == "processed"

    for parked in await db["stripe_events"].find({"customer_id": "cus_2"}).to_list(None):
        assert parked["status"] == "processed", parked
    await _assert_second_customer_subscribed(client, db, second)


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_a_checkout_for_the_account_links_its_new_customer(client, db, clock, layout):
    """Stripe: "Checkout: client_reference_id" (the product names its account on the
    session; Checkout makes a new Customer) and "Using webhooks with subscriptions"."""
    second = await _first_customer_deleted(client, clock, layout)
    created, first_invoice = _second_subscription(second)

    await second.checkout()
    assert await second.send("customer.subscription.created", created) == "processed"
    assert await second.send("invoice.paid", first_invoice) == "processed"

    await _assert_second_customer_subscribed(client, db, second)


async def _with_key(app_with) -> tuple[FakeStripeAPI, object]:
    api = FakeStripeAPI()
    _, client = await app_with(
        shapes_catalog(),
        stripe_client=stripe.StripeClient(API_KEY, http_client=api, max_network_retries=0),
        stripe_api_key=API_KEY,
    )
    return api, client


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_with_an_api_key_a_customers_own_metadata_links_its_subscription_event(
    app_with, db, clock, layout
):
    """Stripe: "Retrieve a customer" (GET /v1/customers/{id}: its `metadata`), when the
    endpoint is not sent customer.* events."""
    api, client = await _with_key(app_with)
    second = await _first_customer_deleted(client, clock, layout)
    api.customers["cus_2"] = _customer(second, "cus_2", "user_1")
    created, first_invoice = _second_subscription(second)

    assert await second.send("customer.subscription.created", created) == "processed"
    assert await second.send("invoice.paid", first_invoice) == "processed"

    asked = [path for path, _ in api.requests if path.startswith("/v1/customers/")]
    assert asked == ["/v1/customers/cus_2"]  # once: the link serves the invoice
    await _assert_second_customer_subscribed(client, db, second)


async def test_a_parked_event_replayed_with_an_api_key_is_linked_not_parked_again(
    app_with, db, clock
):
    """Stripe: "Retrieve a customer"; the replay of a parked event (docs/stripe.md) reads the
    customer's metadata as a delivery does."""
    _, plain = await app_with(shapes_catalog())
    second = await _first_customer_deleted(plain, clock, "current")
    created, first_invoice = _second_subscription(second)
    parked = []
    for type, obj in (("customer.subscription.created", created), ("invoice.paid", first_invoice)):
        assert await second.send(type, obj) == "parked"
        parked.append(await db["stripe_events"].find_one({"type": type, "customer_id": "cus_2"}))
    api, client = await _with_key(app_with)
    api.customers["cus_2"] = _customer(second, "cus_2", "user_1")

    first = parked[0]["_id"]
    replayed = await client.post(f"/v1/webhook-events/{first}/replay", headers=auth())

    assert (replayed.status_code, replayed.json()["status"]) == (200, "processed")
    # The link it made applied the other parked event.
    for event in parked:
        assert (await stored_event(db, event["_id"]))["status"] == "processed"
    second.client = client
    await _assert_second_customer_subscribed(client, db, second)
