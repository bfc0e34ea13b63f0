"""Invoices (the `invoice`, `line_item` and `invoice_payment` fixtures, with the fields of
stripe-python 16's Invoice and InvoiceLineItem): the event factory's `invoice.*` events with one
line, and `invoice` with any lines in any order (plan, proration, one-off and add-on lines, as
`plan_line`, `proration_line`, `fee_line` make them). Line descriptions ("Unused time on ...",
"Remaining time on ...", "1 × Pro (at ...)", "Trial period for ...") are the ones Stripe
writes. The current layout (basil and later) links lines through `parent.*_details` and prices
through `pricing.price_details`; the legacy one (2024-06-20) has `type`, `proration`, `price`,
`subscription`, and `invoice.charge`/`payment_intent`."""

from __future__ import annotations

from dataclasses import dataclass, field

from stripe_fixtures import prices
from stripe_fixtures.common import (
    DAY,
    DEFAULT_AMOUNT,
    DEFAULT_CUSTOMER,
    DEFAULT_PRICE,
    DEFAULT_SUBSCRIPTION,
    MONTH,
    Layout,
    Obj,
    derived_id,
    full_type,
    new_id,
    product_id,
    stripe_list,
)
from stripe_fixtures.factory import Factory
from stripe_fixtures.invoice_payments import invoice_payment

_PAID_INVOICE_TYPES = {"invoice.paid", "invoice.payment_succeeded"}


class Invoices(Factory):
    def invoice_event(
        self,
        type: str = "invoice.paid",
        *,
        invoice_id: str | None = None,
        customer: str = DEFAULT_CUSTOMER,
        subscription: str | None = DEFAULT_SUBSCRIPTION,
        price: str = DEFAULT_PRICE,
        billing_reason: str = "subscription_create",
        amount_due: int | None = None,
        amount_paid: int | None = None,
        period_start: int | None = None,
        period_end: int | None = None,
        subscription_metadata: dict[str, str] | None = None,
        payment_intent: str | None = None,
        charge: str | None = None,
        quantity: int = 1,
        unit_amount: int = DEFAULT_AMOUNT,
        proration: bool = False,
        attempt_count: int | None = None,
        include_payments: bool = True,
        created: int | None = None,
        event_id: str | None = None,
    ) -> Obj:
        """An `invoice.*` event with one line for `price`; `type` may be short: "paid"...

        `period_start`/`period_end` are the service period of the line (default: [event time,
        +30 days)). Like Stripe, the invoice's own top-level `period_start`/`period_end` are NOT
        that period: for "subscription_cycle" they cover the period just ended. Amounts default
        to `unit_amount * quantity` (0 paid on failures); a $0 invoice (trial) has no payment.
        A payment intent and charge are made up when there is something to pay. Real basil
        webhooks often omit `payments` (an includable field): `include_payments=False`.
        """
        type = full_type("invoice", type)
        created = self.now if created is None else created
        period_start = created if period_start is None else period_start
        period_end = period_start + MONTH if period_end is None else period_end
        invoice_id = invoice_id or self.new_id("in")
        paid = type in _PAID_INVOICE_TYPES
        failed = type == "invoice.payment_failed"
        amount_due = unit_amount * quantity if amount_due is None else amount_due
        if amount_paid is None:
            amount_paid = amount_due if paid else 0
        if amount_due > 0:
            payment_intent = payment_intent or self.new_id("pi")
            charge = charge or self.new_id("ch")
        if attempt_count is None:
            attempt_count = 1 if amount_due > 0 and (paid or failed) else 0
        if billing_reason == "subscription_cycle":
            invoice_period = (period_start - (period_end - period_start), period_start)
        else:
            invoice_period = (period_start, period_start)

        line = self._invoice_line(
            invoice_id=invoice_id,
            subscription=subscription,
            price=price,
            amount=amount_due,
            quantity=quantity,
            unit_amount=unit_amount,
            period=(period_start, period_end),
            proration=proration,
        )
        number = f"TEST-{invoice_id[-6:]}"
        invoice: Obj = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Credit Ledger Test",
            "account_tax_ids": None,
            "amount_due": amount_due,
            "amount_paid": amount_paid,
            "amount_remaining": amount_due - amount_paid,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": attempt_count,
            "attempted": attempt_count > 0 or paid,
            "auto_advance": not paid,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "billing_reason": billing_reason,
            "collection_method": "charge_automatically",
            "created": created,
            "currency": "usd",
            "custom_fields": None,
            "customer": customer,
            "customer_address": None,
            "customer_email": "buyer@example.com",
            "customer_name": None,
            "customer_phone": None,
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [],
            "due_date": None,
            "effective_at": created,
            "ending_balance": 0,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": f"https://invoice.stripe.com/i/test/{invoice_id}",
            "invoice_pdf": f"https://pay.stripe.com/invoice/test/{invoice_id}/pdf",
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": stripe_list([line], f"/v1/invoices/{invoice_id}/lines", total_count=True),
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": created + 3 * DAY if failed else None,
            "number": number,
            "on_behalf_of": None,
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": invoice_period[1],
            "period_start": invoice_period[0],
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": "paid" if paid else "open",
            "status_transitions": {
                "finalized_at": created,
                "marked_uncollectible_at": None,
                "paid_at": created if paid else None,
                "voided_at": None,
            },
            "subtotal": amount_due,
            "subtotal_excluding_tax": amount_due,
            "test_clock": None,
            "total": amount_due,
            "total_discount_amounts": [],
            "total_excluding_tax": amount_due,
            "webhooks_delivered_at": None,
        }
        if self.legacy:
            invoice.update(
                application_fee_amount=None,
                charge=charge,
                discount=None,
                paid=paid,
                paid_out_of_band=False,
                payment_intent=payment_intent,
                quote=None,
                subscription=subscription,
                subscription_details={"metadata": dict(subscription_metadata or {})}
                if subscription
                else None,
                subscription_proration_date=None,
                tax=None,
                total_tax_amounts=[],
                transfer_data=None,
            )
        else:
            invoice.update(
                amount_overpaid=0,
                automatically_finalizes_at=None,
                parent=_invoice_parent(subscription, subscription_metadata),
                total_pretax_credit_amounts=[],
                total_taxes=[],
            )
            if include_payments:
                payments = []
                if payment_intent is not None:
                    payments.append(
                        invoice_payment(
                            payment_id=self.new_id("inpay"),
                            invoice=invoice_id,
                            payment_intent=payment_intent,
                            amount=amount_due,
                            amount_paid=amount_paid,
                            created=created,
                            paid=paid,
                        )
                    )
                invoice["payments"] = stripe_list(
                    payments, "/v1/invoice_payments", total_count=True
                )
        return self.event(type, invoice, created=created, event_id=event_id)

    def _invoice_line(
        self,
        *,
        invoice_id: str,
        subscription: str | None,
        price: str,
        amount: int,
        quantity: int,
        unit_amount: int,
        period: tuple[int, int],
        proration: bool,
    ) -> Obj:
        line: Obj = {
            "id": self.new_id("il"),
            "object": "line_item",
            "amount": amount,
            "currency": "usd",
            "description": f"{quantity} × {price} (at ${unit_amount / 100:.2f} / month)",
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": invoice_id,
            "livemode": False,
            "metadata": {},
            "period": {"end": period[1], "start": period[0]},
            "quantity": quantity,
        }
        subscription_item = derived_id("si", subscription) if subscription else None
        if self.legacy:
            line.update(
                amount_excluding_tax=amount,
                invoice_item=None if subscription else self.new_id("ii"),
                plan=prices.plan(price, unit_amount),
                price=prices.price(price, unit_amount),
                proration=proration,
                proration_details={"credited_items": None},
                subscription=subscription,
                subscription_item=subscription_item,
                tax_amounts=[],
                tax_rates=[],
                type="subscription" if subscription else "invoiceitem",
                unit_amount_excluding_tax=str(unit_amount),
            )
        else:
            if subscription:
                parent = {
                    "invoice_item_details": None,
                    "subscription_item_details": {
                        "invoice_item": None,
                        "proration": proration,
                        "proration_details": {"credited_items": None},
                        "subscription": subscription,
                        "subscription_item": subscription_item,
                    },
                    "type": "subscription_item_details",
                }
            else:
                parent = {
                    "invoice_item_details": {
                        "invoice_item": self.new_id("ii"),
                        "proration": proration,
                        "proration_details": {"credited_items": None},
                        "subscription": None,
                    },
                    "subscription_item_details": None,
                    "type": "invoice_item_details",
                }
            line.update(
                parent=parent,
                pretax_credit_amounts=[],
                pricing={
                    "price_details": {"price": price, "product": product_id(price)},
                    "type": "price_details",
                    "unit_amount_decimal": str(unit_amount),
                },
                taxes=[],
            )
        return line


def _invoice_parent(subscription: str | None, metadata: dict[str, str] | None) -> Obj | None:
    if subscription is None:
        return None
    return {
        "quote_details": None,
        "subscription_details": {"metadata": dict(metadata or {}), "subscription": subscription},
        "type": "subscription_details",
    }


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
                price=prices.price(self.price, unit),
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
