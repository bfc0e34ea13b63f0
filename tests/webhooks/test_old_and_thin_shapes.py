"""Shapes older and thinner than a snapshot event of today: invoice lines that name only their
`plan` (API versions from before prices, as subscription items already were read), and thin
events (`"object": "v2.core.event"`) that an event destination sends."""

import pytest
from stripe_fixtures.envelope import event
from stripe_fixtures.invoices import plan_line

from tests.factories import assert_invariants, live_grants
from tests.webhooks.helpers import (
    access,
    get_account,
    same_time,
    send,
    send_ok,
    stored_event,
    webhook_events,
)
from tests.webhooks.shapes_story import MONTH, STARTER, UNIT, Story, shapes_catalog

# An API version from before prices: lines and items name their plan (the `plan` fixture of
# stripe/openapi's fixtures3.json, an id that is also a price's since prices came).
OLD_API_VERSION = "2019-12-03"


@pytest.fixture
async def client(app_with):
    return (await app_with(shapes_catalog()))[1]


def _plan(price_id: str) -> dict:
    """The `plan` fixture (stripe/openapi fixtures3.json), for one of our prices."""
    return {
        "id": price_id,
        "object": "plan",
        "active": True,
        "amount": UNIT[price_id],
        "amount_decimal": str(UNIT[price_id]),
        "billing_scheme": "per_unit",
        "currency": "usd",
        "interval": "month",
        "interval_count": 1,
        "livemode": False,
        "metadata": {},
        "nickname": None,
        "product": f"prod_{price_id}",
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def _plan_only(obj: dict) -> dict:
    """An object of the legacy layout as an API version from before prices renders it: each
    line and item names its `plan`, none a `price`."""
    for line in obj.get("lines", {}).get("data", []) + obj.get("items", {}).get("data", []):
        price_id = line["price"]["id"]
        line.pop("price")
        line["plan"] = _plan(price_id)
    return obj


async def _send_old(story: Story, type: str, obj: dict) -> str:
    sent = event("legacy", type, _plan_only(obj), created=story.now)
    sent["api_version"] = OLD_API_VERSION
    return await send_ok(story.client, sent)


async def test_invoice_lines_naming_only_their_plan_pay_and_renew_the_plan(client, db, clock):
    """Stripe: "Upgrade your API version" (prices, 2020-08-27, came beside plans; older
    versions render invoice line items with `plan` only) and "How subscriptions work" (the
    first invoice, `subscription_create`, then a renewal, `subscription_cycle`, each paying
    one period's line)."""
    story = Story(client, clock, "legacy")
    start = story.now
    await story.checkout()
    created = story.subscription([(STARTER, 1)], start, start + MONTH)
    assert await _send_old(story, "customer.subscription.created", created) == "processed"
    first = story.invoice([story.plan(STARTER, start, start + MONTH)], "subscription_create")

    assert await _send_old(story, "invoice.paid", first) == "processed"
    clock.advance(days=30)
    renewal = story.invoice(
        [story.plan(STARTER, story.now, story.now + MONTH)], "subscription_cycle"
    )
    assert await _send_old(story, "invoice.paid", renewal) == "processed"

    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["subscription_status"]) == ("starter", "active")
    assert same_time(acc["current_period_end"], story.now + MONTH)
    # The first period's 1000 closed at the renewal, 300 carried over (starter: max:300).
    assert acc["balance"] == 1300
    grants = await live_grants(client, "user_1")
    assert sorted((g["kind"], g["amount"]) for g in grants) == [
        ("rollover", 300),
        ("subscription", 1000),
    ]
    assert (await access(client, "user_1"))["allowed"] is True
    await assert_invariants(db, "user_1")


async def test_a_trial_line_naming_only_its_plan_grants_nothing(client, db, clock):
    """Stripe: "Use trial periods on subscriptions" (the first invoice of a trial is 0, its
    line "Trial period for ..."), rendered at an API version from before prices."""
    story = Story(client, clock, "legacy")
    start = story.now
    await story.checkout()
    trial = story.subscription(
        [(STARTER, 1)], start, start + 14 * 86_400, status="trialing", trial_end=start + 14 * 86_400
    )
    assert await _send_old(story, "customer.subscription.created", trial) == "processed"
    line = plan_line(
        STARTER,
        UNIT[STARTER],
        start=start,
        end=start + 14 * 86_400,
        subscription="sub_1",
        trial=True,
    )
    first = story.invoice([line], "subscription_create")

    assert await _send_old(story, "invoice.paid", first) == "processed"

    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["subscription_status"]) == ("starter", "trialing")
    trial_credits = shapes_catalog()["plans"]["starter"]["trial_credits"]
    assert acc["balance"] == trial_credits
    assert [(g["kind"], g["amount"]) for g in await live_grants(client, "user_1")] == [
        ("trial", trial_credits)
    ]
    assert (await access(client, "user_1"))["allowed"] is True
    await assert_invariants(db, "user_1")


def _thin_event(type: str, related: dict | None) -> dict:
    """A thin event as an event destination delivers it (stripe-python 16's
    `stripe.v2.core.Event` / `EventNotification`: `created` is an RFC 3339 string, and there
    is no `data`, only `related_object`)."""
    thin = {
        "id": "evt_test_65R9Ijk8d5K2BcYq2p516SR9ot0gSQFGAr5Tld4IO3Fp",
        "object": "v2.core.event",
        "type": type,
        "livemode": False,
        "created": "2026-11-01T12:00:00.000Z",
        "context": None,
        "reason": {"type": "request", "request": {"id": "req_1", "idempotency_key": "ik_1"}},
    }
    if related is not None:
        thin["related_object"] = related
    return thin


@pytest.mark.parametrize(
    ("type", "related"),
    [
        (
            "v1.billing.meter.error_report_triggered",
            {
                "id": "mtr_test_61R9IjHkN6NzDkV8C41PUiasNJHRhr7k",
                "type": "billing.meter",
                "url": "/v1/billing/meters/mtr_test_61R9IjHkN6NzDkV8C41PUiasNJHRhr7k",
            },
        ),
        ("v2.core.event_destination.ping", None),
    ],
)
async def test_a_thin_event_is_ignored_with_a_note_and_counts_as_no_failure(
    client, db, clock, type, related
):
    """Stripe: "Event destinations" (thin events: `"object": "v2.core.event"`, unversioned,
    naming the changed object without its data; fetch it, or use snapshot events)."""
    story = Story(client, clock, "current")
    await story.subscribe(STARTER)
    thin = _thin_event(type, related)

    r = await send(client, thin)

    assert (r.status_code, r.json()) == (200, {"status": "ignored"})
    stored = await stored_event(db, thin["id"])
    assert (stored["status"], stored["error"]) == ("ignored", None)
    assert "thin event" in stored["note"]
    listed = (await webhook_events(client, status="ignored")).json()["data"]
    assert [e["id"] for e in listed] == [thin["id"]]
    metrics = (await client.get("/metrics")).text
    assert "credit_ledger_webhook_failures_total{" not in metrics
    # Counted as ignored, under the label of every type the service does not handle.
    assert 'credit_ledger_webhook_events_total{status="ignored",type="other"} 1' in metrics
    again = await send(client, thin)
    assert again.json() == {"status": "duplicate"}
    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["subscription_status"], acc["balance"]) == ("starter", "active", 1000)
    assert [g["amount"] for g in await live_grants(client, "user_1")] == [1000]
    assert (await access(client, "user_1"))["allowed"] is True
    await assert_invariants(db, "user_1")
