"""Subscriptions (the `subscription` and `subscription_item` fixtures): the event factory's
`customer.subscription.*` events with one item, and `subscription` with several items (the
plan, add-ons), quantities (seats) and yearly prices. The current layout puts the period on
each item; the legacy one on the subscription."""

from __future__ import annotations

from stripe_fixtures import prices
from stripe_fixtures.common import (
    DEFAULT_AMOUNT,
    DEFAULT_CUSTOMER,
    DEFAULT_PRICE,
    DEFAULT_SUBSCRIPTION,
    MONTH,
    Layout,
    Obj,
    derived_id,
    full_type,
    stripe_list,
)
from stripe_fixtures.factory import Factory


class Subscriptions(Factory):
    def subscription_event(
        self,
        type: str = "customer.subscription.updated",
        *,
        subscription_id: str = DEFAULT_SUBSCRIPTION,
        customer: str = DEFAULT_CUSTOMER,
        price: str = DEFAULT_PRICE,
        status: str | None = None,
        period_start: int | None = None,
        period_end: int | None = None,
        trial_start: int | None = None,
        trial_end: int | None = None,
        cancel_at_period_end: bool = False,
        cancel_at: int | None = None,
        canceled_at: int | None = None,
        metadata: dict[str, str] | None = None,
        previous_attributes: Obj | None = None,
        quantity: int = 1,
        unit_amount: int = DEFAULT_AMOUNT,
        latest_invoice: str | None = None,
        created: int | None = None,
        event_id: str | None = None,
    ) -> Obj:
        """A `customer.subscription.*` event; `type` may be short: "created", "updated"...

        `status` defaults to "canceled" for "deleted", else "active" (pass "trialing" with
        `trial_end` for a trial). The period defaults to [event time, +30 days); with
        `cancel_at_period_end`, `cancel_at` defaults to the period end. endive puts the period
        on `items.data[]`; legacy puts it on the subscription itself.
        """
        type = full_type("customer.subscription", type)
        created = self.now if created is None else created
        period_start = created if period_start is None else period_start
        period_end = period_start + MONTH if period_end is None else period_end
        deleted = type == "customer.subscription.deleted"
        if status is None:
            status = "canceled" if deleted else "active"
        if trial_end is not None and trial_start is None:
            trial_start = period_start
        if cancel_at_period_end and cancel_at is None:
            cancel_at = period_end
        if deleted and canceled_at is None:
            canceled_at = created
        started = trial_start if trial_start is not None else period_start

        item: Obj = {
            "id": derived_id("si", subscription_id),
            "object": "subscription_item",
            "billing_thresholds": None,
            "created": started,
            "discounts": [],
            "metadata": {},
            "plan": prices.plan(price, unit_amount),
            "price": prices.price(price, unit_amount),
            "quantity": quantity,
            "subscription": subscription_id,
            "tax_rates": [],
        }
        if not self.legacy:
            item["current_period_end"] = period_end
            item["current_period_start"] = period_start

        subscription: Obj = {
            "id": subscription_id,
            "object": "subscription",
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": period_start,
            "billing_cycle_anchor_config": None,
            "billing_thresholds": None,
            "cancel_at": cancel_at,
            "cancel_at_period_end": cancel_at_period_end,
            "canceled_at": canceled_at,
            "cancellation_details": {
                "comment": None,
                "feedback": None,
                "reason": "cancellation_requested" if canceled_at or cancel_at else None,
            },
            "collection_method": "charge_automatically",
            "created": started,
            "currency": "usd",
            "customer": customer,
            "days_until_due": None,
            "default_payment_method": derived_id("pm", customer),
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [],
            "ended_at": created if deleted else None,
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": stripe_list(
                [item],
                f"/v1/subscription_items?subscription={subscription_id}",
                total_count=True,
            ),
            "latest_invoice": latest_invoice,
            "livemode": False,
            "metadata": dict(metadata or {}),
            "next_pending_invoice_item_invoice": None,
            "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": {
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": None,
            "schedule": None,
            "start_date": started,
            "status": status,
            "test_clock": None,
            "transfer_data": None,
            "trial_end": trial_end,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": trial_start,
        }
        if self.legacy:
            subscription.update(
                current_period_end=period_end,
                current_period_start=period_start,
                discount=None,
                plan=prices.plan(price, unit_amount),
                quantity=quantity,
            )
        else:
            subscription["billing_mode"] = {"flexible": None, "type": "classic"}
        return self.event(
            type,
            subscription,
            previous_attributes=previous_attributes,
            created=created,
            event_id=event_id,
        )


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
            "price": prices.price(price_id, unit_amount, interval),
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
