"""A `payment_behavior=pending_if_incomplete` update whose invoice fails: Stripe keeps the
subscription active on its current plan, so the failure suspends nothing, in either order of
the snapshot and the failure."""

import pytest
from stripe_fixtures import LAYOUTS

from tests.factories import assert_invariants
from tests.webhooks.helpers import get_account
from tests.webhooks.periods_story import access, unused_time, with_pending_update
from tests.webhooks.shapes_story import DAY, GROWTH, MONTH, STARTER, Story, shapes_catalog


@pytest.fixture
async def client(app_with):
    return (await app_with(shapes_catalog()))[1]


def _pending(story: Story, start: int, invoice_id: str) -> dict:
    snapshot = story.subscription([(STARTER, 1)], start, start + MONTH)
    return with_pending_update(snapshot, GROWTH, expires_at=story.now + DAY, invoice=invoice_id)


def _update_invoice(story: Story, start: int) -> dict:
    now = story.now
    lines = [
        unused_time(story, STARTER, at=now, end=start + MONTH),
        story.plan(GROWTH, now, start + MONTH),
    ]
    return story.invoice(lines, "subscription_update", paid=False)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("failure_first", [False, True], ids=["snapshot-first", "failure-first"])
async def test_a_declined_pending_update_leaves_the_subscription_active_on_its_plan(
    client, db, clock, layout, failure_first
):
    """Stripe: "Pending updates" (docs.stripe.com/billing/subscriptions/pending-updates): with
    `payment_behavior: pending_if_incomplete` the update waits in `pending_update` while its
    invoice is attempted; if payment fails the subscription stays `active` on its current
    items and the update is discarded when it expires."""
    story = Story(client, clock, layout)
    start = story.now
    await story.subscribe(STARTER)
    clock.advance(days=10)
    invoice = _update_invoice(story, start)
    events = [
        ("customer.subscription.updated", _pending(story, start, invoice["id"])),
        ("invoice.payment_failed", invoice),
    ]
    for type, obj in reversed(events) if failure_first else events:
        assert await story.send(type, obj) == "processed"
    clock.advance(days=5)  # past any grace

    acc = await get_account(client, "user_1")
    assert (acc["subscription_status"], acc["plan"], acc["balance"]) == ("active", "starter", 1000)
    assert acc["grace_until"] is None
    assert (await access(client))["allowed"] is True
    await assert_invariants(db, "user_1")
