"""`invoice_payment` (the fixture and stripe-python 16's InvoicePayment): which payment paid
which invoice, the only link between them in the current layout."""

from __future__ import annotations

from tests.stripe_shapes.common import Obj, new_id


def invoice_payment(
    *, invoice: str, payment_intent: str, amount: int, created: int, livemode: bool = False
) -> Obj:
    return {
        "id": new_id("inpay"),
        "object": "invoice_payment",
        "amount_paid": amount,
        "amount_requested": amount,
        "created": created,
        "currency": "usd",
        "invoice": invoice,
        "is_default": True,
        "livemode": livemode,
        "payment": {"type": "payment_intent", "payment_intent": payment_intent},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": created},
    }


def dispute(
    *,
    charge: str,
    payment_intent: str | None,
    amount: int,
    created: int,
    status: str = "needs_response",
    dispute_id: str | None = None,
) -> Obj:
    """The `dispute` fixture, trimmed."""
    return {
        "id": dispute_id or new_id("dp"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge,
        "created": created,
        "currency": "usd",
        "evidence_details": {
            "due_by": created + 7 * 86_400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "reason": "fraudulent",
        "status": status,
    }
