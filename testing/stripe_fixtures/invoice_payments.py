"""Invoice payments (the `invoice_payment` fixture, stripe-python 16's InvoicePayment): which
payment paid which invoice, the only link between them in the current layout."""

from __future__ import annotations

from stripe_fixtures.common import Obj, new_id


def invoice_payment(
    *,
    invoice: str,
    payment_intent: str,
    amount: int,
    created: int,
    amount_paid: int | None = None,
    paid: bool = True,
    payment_id: str | None = None,
    livemode: bool = False,
) -> Obj:
    """Paid by `payment_intent` (`amount_paid` defaults to `amount`, what was asked), or open."""
    if amount_paid is None:
        amount_paid = amount
    return {
        "id": payment_id or new_id("inpay"),
        "object": "invoice_payment",
        "amount_paid": amount_paid if paid else None,
        "amount_requested": amount,
        "created": created,
        "currency": "usd",
        "invoice": invoice,
        "is_default": True,
        "livemode": livemode,
        "payment": {"payment_intent": payment_intent, "type": "payment_intent"},
        "status": "paid" if paid else "open",
        "status_transitions": {"canceled_at": None, "paid_at": created if paid else None},
    }
