"""Where things are in Stripe payloads, for both layouts: 2025-03-31 (basil, incl. endive) and
later, and the older one. Every reader takes the plain dict of `event.data.object`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]


# Stripe's times are unix seconds; anything outside 1970-2106 (an unsigned 32-bit time) is
# not one, and would overflow date arithmetic (expiry = period end + grace) further on.
MAX_UNIX = 2**32 - 1


def valid_unix(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_UNIX


def ts(value: Any) -> datetime | None:
    """Stripe's unix seconds as an aware UTC datetime (None when it is not one)."""
    return datetime.fromtimestamp(value, UTC) if valid_unix(value) else None


def object_id(value: Any) -> str | None:
    """An id field may be a string or an expanded object."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _items(obj: Obj, key: str) -> list[Obj]:
    data = _dig(obj, key, "data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def metadata(obj: Obj) -> dict[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


# Invoices

def invoice_subscription(invoice: Obj) -> str | None:
    return object_id(_dig(invoice, "parent", "subscription_details", "subscription")) or \
        object_id(invoice.get("subscription"))


def invoice_subscription_metadata(invoice: Obj) -> dict[str, Any]:
    for path in (("parent", "subscription_details", "metadata"),
                 ("subscription_details", "metadata")):
        value = _dig(invoice, *path)
        if isinstance(value, dict) and value:
            return value
    return {}


def _subscription_line(invoice: Obj) -> Obj | None:
    lines = _items(invoice, "lines")
    for line in lines:
        if invoice_line_price(line):
            return line
    return lines[0] if lines else None


def invoice_line_price(line: Obj) -> str | None:
    return object_id(_dig(line, "pricing", "price_details", "price")) or \
        object_id(line.get("price"))


def invoice_price(invoice: Obj) -> str | None:
    line = _subscription_line(invoice)
    return invoice_line_price(line) if line else None


def invoice_period(invoice: Obj) -> tuple[datetime | None, datetime | None]:
    """The service period the invoice pays for: its subscription line's period."""
    line = _subscription_line(invoice)
    if line is None:
        return ts(invoice.get("period_start")), ts(invoice.get("period_end"))
    return ts(_dig(line, "period", "start")), ts(_dig(line, "period", "end"))


def invoice_payment_intent(invoice: Obj) -> str | None:
    for payment in _items(invoice, "payments"):
        found = object_id(_dig(payment, "payment", "payment_intent"))
        if found:
            return found
    return object_id(invoice.get("payment_intent"))


def invoice_charge(invoice: Obj) -> str | None:
    for payment in _items(invoice, "payments"):
        found = object_id(_dig(payment, "payment", "charge"))
        if found:
            return found
    return object_id(invoice.get("charge"))


# Subscriptions

def subscription_price(subscription: Obj) -> str | None:
    for item in _items(subscription, "items"):
        found = object_id(item.get("price"))
        if found:
            return found
    plan = subscription.get("plan")  # very old payloads
    return object_id(plan)


def subscription_period(subscription: Obj) -> tuple[datetime | None, datetime | None]:
    for item in _items(subscription, "items"):
        start, end = ts(item.get("current_period_start")), ts(item.get("current_period_end"))
        if start and end:
            return start, end
    return ts(subscription.get("current_period_start")), ts(subscription.get("current_period_end"))


def customer_of(obj: Obj) -> str | None:
    return object_id(obj.get("customer"))
