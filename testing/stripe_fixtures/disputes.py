"""Disputes (the `dispute` fixture): `charge.dispute.*` events, and the object alone for the
tests that put a dispute into an event or Stripe's API themselves."""

from __future__ import annotations

from stripe_fixtures.common import DAY, Obj, full_type, new_id
from stripe_fixtures.factory import Factory


def dispute(
    *,
    charge: str,
    payment_intent: str | None,
    amount: int,
    created: int,
    status: str = "needs_response",
    reason: str = "fraudulent",
    dispute_id: str | None = None,
) -> Obj:
    """A card chargeback on `charge`; Stripe sets `is_charge_refundable` while one is open."""
    return {
        "id": dispute_id or new_id("dp"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge,
        "created": created,
        "currency": "usd",
        "enhanced_eligibility_types": [],
        "evidence": {
            "customer_email_address": None,
            "customer_name": None,
            "product_description": None,
            "uncategorized_text": None,
        },
        "evidence_details": {
            "due_by": created + 7 * DAY,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": status in ("needs_response", "warning_needs_response"),
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "payment_method_details": {
            "card": {"brand": "visa", "case_type": "chargeback", "network_reason_code": "10.4"},
            "type": "card",
        },
        "reason": reason,
        "status": status,
    }


class Disputes(Factory):
    def dispute_event(
        self,
        type: str = "charge.dispute.created",
        *,
        dispute_id: str | None = None,
        charge_id: str | None = None,
        payment_intent: str | None = None,
        amount: int = 1000,
        status: str | None = None,
        reason: str = "fraudulent",
        created: int | None = None,
        event_id: str | None = None,
    ) -> Obj:
        """`charge.dispute.*`; `type` may be short: "created", "closed"...

        `status` defaults to "lost" for "closed", else "needs_response".
        """
        type = full_type("charge.dispute", type)
        created = self.now if created is None else created
        if status is None:
            status = "lost" if type == "charge.dispute.closed" else "needs_response"
        obj = dispute(
            dispute_id=dispute_id or self.new_id("dp"),
            charge=charge_id or self.new_id("ch"),
            payment_intent=payment_intent or self.new_id("pi"),
            amount=amount,
            created=created,
            status=status,
            reason=reason,
        )
        return self.event(type, obj, created=created, event_id=event_id)
