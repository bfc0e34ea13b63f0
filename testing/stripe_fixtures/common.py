"""What every builder shares: the two API layouts, ids, defaults, lists."""

from __future__ import annotations

import itertools
from typing import Any, Literal

Obj = dict[str, Any]

# The event factory's names for the layouts (StripeEvents(shape=...)) and the multi-line
# builders' (invoices.invoice, subscriptions.subscription): the same two API versions.
Shape = Literal["endive", "legacy"]
Layout = Literal["current", "legacy"]
LAYOUTS: tuple[Layout, ...] = ("current", "legacy")
ENDIVE_API_VERSION = "2026-10-28.endive"
LEGACY_API_VERSION = "2024-06-20"
API_VERSION = {"current": ENDIVE_API_VERSION, "legacy": LEGACY_API_VERSION}

DAY = 86_400
MONTH = 30 * DAY

DEFAULT_CUSTOMER = "cus_test"
DEFAULT_SUBSCRIPTION = "sub_test"
DEFAULT_ACCOUNT = "user_42"
DEFAULT_PRICE = "price_starter_monthly"
DEFAULT_AMOUNT = 1900  # cents

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    """A fresh id for the multi-line builders (`in_shape00000001`); the event factory has its
    own (`in_test0000000001`), so the two never mint the same id in one test."""
    return f"{prefix}_shape{next(_ids):08d}"


def full_type(prefix: str, type: str) -> str:
    """ "updated" -> "customer.subscription.updated"; a full type is kept as it is."""
    return type if type.startswith(prefix + ".") else f"{prefix}.{type}"


def derived_id(prefix: str, source: str) -> str:
    # Stable per source object, so every event about one subscription names the same item.
    return f"{prefix}_{source.split('_', 1)[-1]}"


def product_id(price: str) -> str:
    return derived_id("prod", price)


def stripe_list(data: list[Obj], url: str, *, total_count: bool = False) -> Obj:
    """A list object; webhooks count the embedded lists of the event factory's objects."""
    listed: Obj = {"object": "list", "data": data, "has_more": False}
    if total_count:
        listed["total_count"] = len(data)
    listed["url"] = url
    return listed
