"""Prices and the legacy `plan` that mirrors one (the `price` and `plan` fixtures)."""

from __future__ import annotations

from stripe_fixtures.common import Obj, product_id


def price(price_id: str, unit_amount: int, interval: str = "month") -> Obj:
    """A recurring per-unit price in USD cents."""
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": 1_700_000_000,
        "currency": "usd",
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product_id(price_id),
        "recurring": {
            "interval": interval,
            "interval_count": 1,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        },
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def plan(price_id: str, unit_amount: int) -> Obj:
    """The `plan` the legacy layout puts beside a subscription item's price."""
    return {
        "id": price_id,
        "object": "plan",
        "active": True,
        "amount": unit_amount,
        "amount_decimal": str(unit_amount),
        "billing_scheme": "per_unit",
        "created": 1_700_000_000,
        "currency": "usd",
        "interval": "month",
        "interval_count": 1,
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": None,
        "product": product_id(price_id),
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }
