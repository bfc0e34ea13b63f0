"""Invoices and their lines, in the current layout (basil and later, incl. endive) and the
legacy one, from the `invoice` and `line_item` fixtures and stripe-python 16's
InvoiceLineItem (see the package's docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.stripe_shapes.common import Layout, Obj, new_id, price, stripe_list


@dataclass
class Line:
    """One invoice line. `kind`: "subscription" (a subscription item's period, e.g. the plan or
    an add-on), "proration" (a subscription change: "Unused time on ...") or "invoiceitem" (a
    one-off item, e.g. a setup fee, possibly added to the subscription's next invoice)."""

    kind: str
    price: str
    amount: int
    start: int
    end: int
    description: str
    quantity: int = 1
    unit_amount: int | None = None
    subscription: str | None = None
    discount: int = 0  # taken off this line by a coupon
    id: str = field(default_factory=lambda: new_id("il"))

    def render(self, layout: Layout, invoice_id: str) -> Obj:
        unit = self.unit_amount if self.unit_amount is not None else self.amount
        line: Obj = {
            "id": self.id,
            "object": "line_item",
            "amount": self.amount,
            "currency": "usd",
            "description": self.description,
            "discount_amounts": [{"amount": self.discount, "discount": "di_shape"}]
            if self.discount
            else [],
            "discountable": True,
            "discounts": ["di_shape"] if self.discount else [],
            "invoice": invoice_id,
            "livemode": False,
            "metadata": {},
            "period": {"start": self.start, "end": self.end},
            "quantity": self.quantity,
        }
        item = f"si_{self.subscription}_{self.price}" if self.subscription else None
        invoice_item = None if self.kind == "subscription" else new_id("ii")
        proration = self.kind == "proration"
        if layout == "legacy":
            line.update(
                type="subscription" if self.kind == "subscription" else "invoiceitem",
                proration=proration,
                proration_details={"credited_items": None},
                invoice_item=invoice_item,
                subscription=self.subscription,
                subscription_item=item if self.kind != "invoiceitem" else None,
                price=price(self.price, unit),
                plan=None,
                unit_amount_excluding_tax=str(unit),
            )
            return line
        if self.kind == "invoiceitem":
            parent = {
                "type": "invoice_item_details",
                "subscription_item_details": None,
                "invoice_item_details": {
                    "invoice_item": invoice_item,
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": self.subscription,
                },
            }
        else:
            parent = {
                "type": "subscription_item_details",
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": invoice_item,
                    "proration": proration,
                    "proration_details": {"credited_items": None},
                    "subscription": self.subscription,
                    "subscription_item": item,
                },
            }
        line.update(
            parent=parent,
            subscription=self.subscription,
            subtotal=self.amount,
            pricing={
                "type": "price_details",
                "unit_amount_decimal": str(unit),
                "price_details": {"price": self.price, "product": f"prod_{self.price}"},
            },
            pretax_credit_amounts=[],
            taxes=[],
        )
        return line


def plan_line(
    price_id: str,
    unit_amount: int,
    *,
    start: int,
    end: int,
    subscription: str,
    quantity: int = 1,
    name: str = "Plan",
    trial: bool = False,
    discount: int = 0,
) -> Line:
    """The line of the subscription's period: "1 × Pro (at $49.00 / month)"; with `trial`,
    Stripe's 0 line "Trial period for Pro"."""
    amount = 0 if trial else unit_amount * quantity
    text = (
        f"Trial period for {name}"
        if trial
        else f"{quantity} × {name} (at ${unit_amount / 100:.2f} / month)"
    )
    return Line(
        "subscription",
        price_id,
        amount,
        start,
        end,
        text,
        quantity,
        unit_amount,
        subscription,
        discount,
    )


def proration_line(
    price_id: str,
    amount: int,
    *,
    start: int,
    end: int,
    subscription: str,
    name: str,
    quantity: int = 1,
) -> Line:
    """A subscription change's line: negative "Unused time on Starter after ...", positive
    "Remaining time on Pro after ..."."""
    text = ("Unused time on" if amount < 0 else "Remaining time on") + f" {name} after change"
    return Line("proration", price_id, amount, start, end, text, quantity, None, subscription)


def fee_line(
    price_id: str, amount: int, *, at: int, subscription: str | None, description: str = "Setup fee"
) -> Line:
    """A one-off invoice item (added to the subscription's next invoice)."""
    return Line("invoiceitem", price_id, amount, at, at, description, 1, amount, subscription)


def invoice(
    layout: Layout,
    *,
    lines: list[Line],
    customer: str,
    subscription: str,
    billing_reason: str,
    created: int,
    account_id: str | None = None,
    amount_paid: int | None = None,
    payment_intent: str | None = None,
    charge: str | None = None,
    invoice_id: str | None = None,
    paid: bool = True,
) -> Obj:
    """A subscription invoice. The current layout names no payment (`payments` is includable
    only, and Stripe's webhooks leave it out); the legacy one has `charge` and
    `payment_intent`."""
    invoice_id = invoice_id or new_id("in")
    rendered = [line.render(layout, invoice_id) for line in lines]
    subtotal = sum(line.amount for line in lines)
    discount = sum(line.discount for line in lines)
    total = subtotal - discount
    amount_paid = (total if paid else 0) if amount_paid is None else amount_paid
    metadata = {"account_id": account_id} if account_id else {}
    obj: Obj = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "amount_due": total,
        "amount_paid": amount_paid,
        "amount_remaining": total - amount_paid,
        "attempt_count": 1 if total else 0,
        "attempted": bool(total),
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "usd",
        "customer": customer,
        "discounts": ["di_shape"] if discount else [],
        "livemode": False,
        "metadata": {},
        "lines": stripe_list(rendered, f"/v1/invoices/{invoice_id}/lines"),
        # The invoice's own period is the one just ended for a renewal, not the one paid.
        "period_start": rendered[0]["period"]["start"] if rendered else created,
        "period_end": created,
        "status": "paid" if paid else "open",
        "status_transitions": {
            "paid_at": created if paid else None,
            "finalized_at": created,
            "marked_uncollectible_at": None,
            "voided_at": None,
        },
        "subtotal": subtotal,
        "total": total,
        "total_discount_amounts": [{"amount": discount, "discount": "di_shape"}]
        if discount
        else [],
    }
    if layout == "legacy":
        obj.update(
            subscription=subscription,
            subscription_details={"metadata": metadata},
            charge=charge,
            payment_intent=payment_intent,
            paid=paid,
            discount={"id": "di_shape", "object": "discount"} if discount else None,
        )
    else:
        obj.update(
            parent={
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {"metadata": metadata, "subscription": subscription},
            },
            amount_overpaid=0,
            total_pretax_credit_amounts=[],
            total_taxes=[],
        )
    return obj
