"""What the service asks Stripe's API (with STRIPE_API_KEY) before applying an event (never
inside its transaction: see prefetch.py): which invoices a payment paid, an invoice's lines
beyond those its event carries, a customer's metadata; and the mode (live or test) of the
key."""

from __future__ import annotations

import asyncio
import logging

import stripe

from app.stripe_events.payloads import object_id

log = logging.getLogger("app.webhooks.stripe_api")

_MODES = {"sk_live_": True, "rk_live_": True, "sk_test_": False, "rk_test_": False}


def key_livemode(api_key: str | None) -> bool | None:
    """True for a live key, False for a test key, None when unset or of no known kind."""
    for prefix, live in _MODES.items():
        if api_key and api_key.startswith(prefix):
            return live
    return None


class StripeLookup:
    """Questions to Stripe's API, each off the event loop (stripe-python's synchronous client:
    the fake HTTP clients of the tests answer it as Stripe does)."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    async def invoice_lines(self, invoice_id: str) -> list[dict]:
        """Every line of an invoice (`GET /v1/invoices/{id}/lines`, every page): an event
        carries only the first ones."""
        return await asyncio.to_thread(self._invoice_lines, invoice_id)

    def _invoice_lines(self, invoice_id: str) -> list[dict]:
        page = self.client.v1.invoices.line_items.list(invoice_id, params={"limit": 100})
        return [line.to_dict(for_json=True) for line in page.auto_paging_iter()]

    async def customer(self, customer_id: str) -> dict:
        """The customer (`GET /v1/customers/{id}`), for its `metadata.account_id`; {} when
        Stripe knows no such customer. A deleted one has no metadata."""
        return await asyncio.to_thread(self._customer, customer_id)

    def _customer(self, customer_id: str) -> dict:
        try:
            return self.client.v1.customers.retrieve(customer_id).to_dict()
        except stripe.InvalidRequestError as error:
            log.info(
                "Stripe knows no customer %s: %s", customer_id, error.user_message or error.code
            )
            return {}

    async def invoices_paid_by(
        self, payment_intent: str | None, charge_id: str | None
    ) -> tuple[str | None, list[str]]:
        """The payment's intent (found from the charge when only that is known) and the
        invoices it paid (`GET /v1/invoice_payments`): for a refund or dispute of a payment
        the service has not seen linked to an invoice."""
        return await asyncio.to_thread(self._invoices_paid_by, payment_intent, charge_id)

    def _invoices_paid_by(
        self, payment_intent: str | None, charge_id: str | None
    ) -> tuple[str | None, list[str]]:
        try:
            if payment_intent is None and charge_id is not None:
                # Invoice payments are listed by payment intent: find the charge's.
                charge = self.client.v1.charges.retrieve(charge_id)
                payment_intent = object_id(charge.to_dict().get("payment_intent"))
            if payment_intent is None:
                return None, []
            page = self.client.v1.invoice_payments.list(
                params={
                    "payment": {"type": "payment_intent", "payment_intent": payment_intent},
                    "limit": 10,
                }
            )
        except stripe.InvalidRequestError as error:
            # No such payment (of another account, or deleted): it paid no invoice of ours.
            log.info(
                "Stripe knows no invoice payment of %s: %s",
                payment_intent or charge_id,
                error.user_message or error.code,
            )
            return payment_intent, []
        paid = [p.to_dict() for p in page.data]
        return payment_intent, [
            found
            for p in paid
            if p.get("status") == "paid" and (found := object_id(p.get("invoice")))
        ]
