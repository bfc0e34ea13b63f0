"""Subscriptions with one or more items (the plan, add-ons), quantities (seats) and yearly
prices, from the `subscription` and `subscription_item` fixtures."""

from __future__ import annotations

from tests.stripe_shapes.common import Layout, Obj, price, stripe_list


def subscription(
    layout: Layout,
    *,
    subscription_id: str,
    customer: str,
    items: list[tuple[str, int, int]],
    start: int,
    end: int,
    status: str = "active",
    account_id: str | None = None,
    trial_end: int | None = None,
    interval: str = "month",
) -> Obj:
    """`items`: (price, unit_amount, quantity), the plan and any add-ons, in Stripe's order."""
    rendered = []
    for price_id, unit_amount, quantity in items:
        item: Obj = {
            "id": f"si_{subscription_id}_{price_id}",
            "object": "subscription_item",
            "created": start,
            "discounts": [],
            "metadata": {},
            "price": price(price_id, unit_amount, interval),
            "quantity": quantity,
            "subscription": subscription_id,
            "tax_rates": [],
        }
        if layout == "current":
            item.update(current_period_start=start, current_period_end=end)
        rendered.append(item)
    obj: Obj = {
        "id": subscription_id,
        "object": "subscription",
        "billing_cycle_anchor": start,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "collection_method": "charge_automatically",
        "created": start,
        "currency": "usd",
        "customer": customer,
        "discounts": [],
        "ended_at": None,
        "items": stripe_list(rendered, f"/v1/subscription_items?subscription={subscription_id}"),
        "latest_invoice": None,
        "livemode": False,
        "metadata": {"account_id": account_id} if account_id else {},
        "start_date": start,
        "status": status,
        "trial_end": trial_end,
        "trial_start": start if trial_end else None,
    }
    if layout == "legacy":
        obj.update(current_period_start=start, current_period_end=end)
    return obj
