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
    return object_id(_dig(invoice, "parent", "subscription_details", "subscription")) or object_id(
        invoice.get("subscription")
    )


def invoice_subscription_metadata(invoice: Obj) -> dict[str, Any]:
    for path in (
        ("parent", "subscription_details", "metadata"),
        ("subscription_details", "metadata"),
    ):
        value = _dig(invoice, *path)
        if isinstance(value, dict) and value:
            return value
    return {}


def invoice_lines(invoice: Obj) -> list[Obj]:
    return _items(invoice, "lines")


def invoice_line_price(line: Obj) -> str | None:
    """The line's price: `pricing.price_details.price` (basil and later), `price` (before),
    or only `plan` (API versions from before prices, as subscription items carry it)."""
    return (
        object_id(_dig(line, "pricing", "price_details", "price"))
        or object_id(line.get("price"))
        or object_id(line.get("plan"))
    )


def is_subscription_line(line: Obj, subscription: str | None) -> bool:
    """A line billing a subscription item of `subscription` for its period, not a proration:
    `parent.subscription_item_details` (current layout) or `type: "subscription"` (legacy).
    One-off invoice items and proration lines ("Unused time on ...") are not."""
    return subscription_line_kind(line, subscription) == "period"


def subscription_line_kind(line: Obj, subscription: str | None) -> str | None:
    """ "period" for a subscription item's line of its period, "proration" for a subscription
    change's line ("Unused time on ...", "Remaining time on ..."), None for anything else
    (one-off invoice items, another subscription's lines)."""
    details = _dig(line, "parent", "subscription_item_details")
    if isinstance(details, dict):
        owner, proration = object_id(details.get("subscription")), details.get("proration")
    elif line.get("type") == "subscription":
        owner, proration = object_id(line.get("subscription")), line.get("proration")
    elif line.get("type") == "invoiceitem" and line.get("proration") is True:
        # Legacy: a proration is an invoice item of the subscription.
        owner, proration = object_id(line.get("subscription")), True
    else:
        return None
    if owner is not None and subscription is not None and owner != subscription:
        return None
    return "proration" if proration is True else "period"


def line_period(line: Obj) -> tuple[datetime | None, datetime | None]:
    return ts(_dig(line, "period", "start")), ts(_dig(line, "period", "end"))


def line_quantity(line: Obj) -> int:
    quantity = line.get("quantity")
    return quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else 1


def line_bills_nothing(line: Obj) -> bool:
    """A line of 0 for a price that costs something, with no discount: a trial line
    ("Trial period for ..."), as opposed to a 100 % coupon, which keeps the line's amount and
    takes it off in `discount_amounts`."""
    unit = line_unit_amount(line)
    try:
        costs = float(unit) > 0
    except (TypeError, ValueError):
        costs = False
    discounted = any(
        isinstance(d, dict) and (d.get("amount") or 0) > 0
        for d in line.get("discount_amounts") or []
    )
    return line.get("amount") == 0 and costs and not discounted


def line_unit_amount(line: Obj) -> Any:
    """The price's unit amount on a line (a decimal string in the current layout)."""
    unit = _dig(line, "pricing", "unit_amount_decimal")
    if unit is None:
        unit = _dig(line, "price", "unit_amount_decimal")
    if unit is None:
        unit = _dig(line, "price", "unit_amount")
    if unit is None:
        unit = _dig(line, "plan", "amount")  # a plan's amount is per unit
    return unit


def line_interval_months(line: Obj) -> int:
    """The months of the line's price interval, where the line says (legacy `price` or `plan`);
    a month otherwise."""
    for recurring in (_dig(line, "price", "recurring"), line.get("plan")):
        if isinstance(recurring, dict):
            interval, count = recurring.get("interval"), recurring.get("interval_count") or 1
            if interval in ("month", "year") and isinstance(count, int) and count > 0:
                return count * (12 if interval == "year" else 1)
    return 1


def invoice_payment_intent(invoice: Obj) -> str | None:
    return _paid_with(invoice, "payment_intent")


def invoice_charge(invoice: Obj) -> str | None:
    return _paid_with(invoice, "charge")


def _paid_with(invoice: Obj, kind: str) -> str | None:
    """The id of the invoice's `kind` (payment_intent or charge): from its payments list, else
    from the invoice's own field (API versions before the list)."""
    for payment in _items(invoice, "payments"):
        found = object_id(_dig(payment, "payment", kind))
        if found:
            return found
    return object_id(invoice.get(kind))


# Subscriptions


def subscription_items(subscription: Obj) -> list[tuple[str, int]]:
    """(price, quantity) of each item; very old payloads name one plan on the subscription."""
    items = []
    for item in _items(subscription, "items"):
        price = object_id(item.get("price")) or object_id(item.get("plan"))
        if price:
            items.append((price, line_quantity(item)))
    plan = object_id(subscription.get("plan"))
    if not items and plan:
        items.append((plan, line_quantity(subscription)))
    return items


def subscription_period(subscription: Obj) -> tuple[datetime | None, datetime | None]:
    for item in _items(subscription, "items"):
        start, end = ts(item.get("current_period_start")), ts(item.get("current_period_end"))
        if start and end:
            return start, end
    return ts(subscription.get("current_period_start")), ts(subscription.get("current_period_end"))


def customer_of(obj: Obj) -> str | None:
    return object_id(obj.get("customer"))
