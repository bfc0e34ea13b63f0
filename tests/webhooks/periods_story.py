"""Pieces the period stories share: a subscription change as Stripe sends it (the snapshot,
then the invoice it makes), reading access, and Stripe's `pending_update`."""

from __future__ import annotations

from stripe_fixtures.invoices import Line, proration_line

from tests.support.settings import auth
from tests.webhooks.shapes_story import MONTH, NAMES, UNIT, Story


async def access(client, account: str = "user_1", cost: int = 1) -> dict:
    response = await client.get(
        f"/v1/accounts/{account}/access", params={"cost": cost}, headers=auth("reader")
    )
    assert response.status_code == 200, response.text
    return response.json()


def unused_time(story: Story, price: str, *, at: int, end: int, quantity: int = 1) -> Line:
    """Stripe's "Unused time on <plan> after ..." credit line of a change at `at`."""
    left = (end - at) / MONTH
    return proration_line(
        price,
        -int(UNIT[price] * quantity * left),
        start=at,
        end=end,
        subscription=story.sub,
        name=NAMES[price],
        quantity=quantity,
    )


async def new_period(
    story: Story,
    price: str,
    *,
    start: int,
    end: int,
    credit: Line | None = None,
    interval: str = "month",
    status: str = "active",
    type: str = "customer.subscription.updated",
) -> dict:
    """A change that starts a new period now (an interval change, `billing_cycle_anchor: now`,
    `trial_end: now`, a resumption): the snapshot, then the `subscription_update` invoice
    Stripe makes at once, paid; returns the invoice."""
    snapshot = story.subscription([(price, 1)], start, end, interval=interval, status=status)
    assert await story.send(type, snapshot) == "processed"
    lines = [credit] if credit else []
    invoice = story.invoice([*lines, story.plan(price, start, end)], "subscription_update")
    assert await story.send("invoice.paid", invoice) == "processed"
    return invoice


def with_pending_update(snapshot: dict, price: str, *, expires_at: int, invoice: str) -> dict:
    """A snapshot while a `payment_behavior=pending_if_incomplete` update waits for payment:
    the items are still the old plan's; `pending_update` names what would change."""
    snapshot["pending_update"] = {
        "billing_cycle_anchor": None,
        "expires_at": expires_at,
        "subscription_items": [{"price": price, "quantity": 1}],
        "trial_end": None,
        "trial_from_plan": None,
    }
    snapshot["latest_invoice"] = invoice
    return snapshot
