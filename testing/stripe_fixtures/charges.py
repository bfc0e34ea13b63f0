"""Charges (the `charge` fixture): `charge.refunded` carries the charge with its running
`amount_refunded` (Stripe sends no refund object in it)."""

from __future__ import annotations

from stripe_fixtures.common import DAY, DEFAULT_CUSTOMER, Obj, derived_id
from stripe_fixtures.factory import Factory


class Charges(Factory):
    def charge_refunded(
        self,
        *,
        charge_id: str | None = None,
        payment_intent: str | None = None,
        amount: int = 1000,
        amount_refunded: int | None = None,
        customer: str | None = DEFAULT_CUSTOMER,
        previous_attributes: Obj | None = None,
        created: int | None = None,
        event_id: str | None = None,
    ) -> Obj:
        """`charge.refunded`; `amount_refunded` is the running total (default: all of it)."""
        created = self.now if created is None else created
        amount_refunded = amount if amount_refunded is None else amount_refunded
        charge = self._charge(
            charge_id=charge_id or self.new_id("ch"),
            payment_intent=payment_intent or self.new_id("pi"),
            amount=amount,
            amount_refunded=amount_refunded,
            customer=customer,
            created=created - DAY,
        )
        return self.event(
            "charge.refunded",
            charge,
            previous_attributes=previous_attributes,
            created=created,
            event_id=event_id,
        )

    def _charge(
        self,
        *,
        charge_id: str,
        payment_intent: str,
        amount: int,
        amount_refunded: int,
        customer: str | None,
        created: int,
    ) -> Obj:
        charge: Obj = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": amount_refunded,
            "application": None,
            "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": derived_id("txn", charge_id),
            "billing_details": {"address": None, "email": None, "name": None, "phone": None},
            "calculated_statement_descriptor": "CREDIT LEDGER",
            "captured": True,
            "created": created,
            "currency": "usd",
            "customer": customer,
            "description": None,
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "fraud_details": {},
            "livemode": False,
            "metadata": {},
            "on_behalf_of": None,
            "outcome": {
                "network_status": "approved_by_network",
                "reason": None,
                "risk_level": "normal",
                "seller_message": "Payment complete.",
                "type": "authorized",
            },
            "paid": True,
            "payment_intent": payment_intent,
            "payment_method": derived_id("pm", customer or charge_id),
            "payment_method_details": {"card": {"brand": "visa", "last4": "4242"}, "type": "card"},
            "receipt_email": None,
            "receipt_number": None,
            "receipt_url": f"https://pay.stripe.com/receipts/test/{charge_id}",
            "refunded": amount_refunded >= amount,
            "review": None,
            "shipping": None,
            "source_transfer": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "succeeded",
            "transfer_data": None,
            "transfer_group": None,
        }
        if self.legacy:
            charge["invoice"] = None  # basil removed Charge.invoice
        return charge
