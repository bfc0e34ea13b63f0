"""Which line of an invoice, and which item of a subscription, pays for the plan: the first
non-proration line (item) of the subscription whose price is a plan in the catalog. One-off
items, proration lines and add-ons never set the plan, the period or the credits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from app.billing.allocation import add_months
from app.billing.catalog import Catalog, Plan
from app.billing.entitlement import share_of
from app.stripe_events.context import PermanentFailure
from app.stripe_events.payloads import (
    Obj,
    invoice_line_price,
    invoice_lines,
    invoice_subscription,
    line_bills_nothing,
    line_interval_months,
    line_period,
    line_quantity,
    line_unit_amount,
    subscription_items,
    subscription_line_kind,
)


@dataclass(frozen=True)
class PlanLine:
    plan: Plan
    price: str
    quantity: int
    start: datetime
    end: datetime
    bills_nothing: bool  # a trial line: 0 for a price that costs something, no discount
    # The part of a full period the line bills, from its own amount (a stub bills less).
    share: Fraction = Fraction(1)


def invoice_plan_line(catalog: Catalog, invoice: Obj, *, stub: bool = False) -> PlanLine:
    """The plan line of a subscription invoice; none with a catalog price fails the event.
    With `stub` (a first invoice), a proration line of a plan counts when no other line
    does: the stub period up to a future billing-cycle anchor, which Stripe may flag so."""
    subscription = invoice_subscription(invoice)
    lines = invoice_lines(invoice)
    kinds = ("period", "proration") if stub else ("period",)
    for kind in kinds:
        for line in lines:
            price = invoice_line_price(line)
            plan = catalog.plan_for_price(price) if price else None
            if price is None or plan is None or subscription_line_kind(line, subscription) != kind:
                continue
            if kind == "proration" and not (line.get("amount") or 0) > 0:
                continue
            return _plan_line(invoice, line, plan, price, stub=kind == "proration")
    seen = sorted({p for p in map(invoice_line_price, lines) if p})
    raise PermanentFailure(
        f"invoice {invoice.get('id')}: no line bills a plan of the catalog for the period "
        f"(prices seen: {', '.join(seen) or 'none'}); add the plan's price to PLANS_FILE and "
        "replay the event",
        code="unknown_price",
    )


def _plan_line(invoice: Obj, line: Obj, plan: Plan, price: str, *, stub: bool) -> PlanLine:
    start, end = line_period(line)
    if start is None or end is None:
        raise PermanentFailure(
            f"invoice {invoice.get('id')}: its plan line has no period", code="bad_payload"
        )
    quantity = line_quantity(line)
    share = share_of(line.get("amount"), line_unit_amount(line), quantity)
    if stub and share == 1:
        # A proration line may show the prorated unit amount rather than the price's: then
        # the share is the one Stripe prorates by, the stub's time in the interval before it.
        share = time_share(start, end, line_interval_months(line))
    return PlanLine(plan, price, quantity, start, end, line_bills_nothing(line), share)


def time_share(start: datetime, end: datetime, months: int) -> Fraction:
    """The part of one interval (`months` long, ending at `end`) that [start, end) is."""
    whole = (end - add_months(end, -months)).total_seconds()
    part = (end - start).total_seconds()
    if whole <= 0 or part <= 0 or part >= whole:
        return Fraction(1)
    return Fraction(int(part), int(whole))


def subscription_plan(catalog: Catalog, subscription: Obj) -> tuple[Plan, int]:
    """The plan of a subscription and its quantity (seats), from its first item whose price is
    a plan; add-on items are not the plan."""
    items = subscription_items(subscription)
    for price, quantity in items:
        plan = catalog.plan_for_price(price)
        if plan is not None:
            return plan, quantity
    seen = ", ".join(sorted({price for price, _ in items})) or "none"
    raise PermanentFailure(
        f"subscription {subscription.get('id')}: no item's price is a plan of the catalog "
        f"(prices seen: {seen}); add it to PLANS_FILE and replay the event",
        code="unknown_price",
    )
