"""Pieces shared by the shapes: layouts, prices, lists, the event envelope."""

from __future__ import annotations

import itertools
from typing import Any, Literal

Obj = dict[str, Any]
Layout = Literal["current", "legacy"]
LAYOUTS: tuple[Layout, ...] = ("current", "legacy")
API_VERSION = {"current": "2026-10-28.endive", "legacy": "2024-06-20"}
DAY = 86_400

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_shape{next(_ids):08d}"


def stripe_list(data: list[Obj], url: str) -> Obj:
    return {"object": "list", "data": data, "has_more": False, "url": url}


def price(price_id: str, unit_amount: int, interval: str = "month") -> Obj:
    """The `price` fixture, trimmed."""
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "currency": "usd",
        "livemode": False,
        "product": f"prod_{price_id}",
        "recurring": {
            "interval": interval,
            "interval_count": 1,
            "meter": None,
            "usage_type": "licensed",
            "trial_period_days": None,
        },
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def event(
    layout: Layout,
    type: str,
    obj: Obj,
    *,
    created: int,
    livemode: bool = False,
    previous_attributes: Obj | None = None,
) -> Obj:
    """The `event` fixture's envelope."""
    data: Obj = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": API_VERSION[layout],
        "created": created,
        "data": data,
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }
