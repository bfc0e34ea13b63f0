"""What the service asks Stripe's API (with STRIPE_API_KEY) while applying an event: which
invoices a payment paid, and the mode (live or test) of the key."""

from __future__ import annotations

import asyncio
import logging

import stripe

from app.webhooks.payloads import object_id

log = logging.getLogger("app.webhooks.stripe_api")

_MODES = {"sk_live_": True, "rk_live_": True, "sk_test_": False, "rk_test_": False}


def key_livemode(api_key: str | None) -> bool | None:
    """True for a live key, False for a test key, None when unset or of no known kind."""
    for prefix, live in _MODES.items():
        if api_key and api_key.startswith(prefix):
            return live
    return None


class PaymentLookup:
    """The invoices a payment paid, asked of Stripe (`GET /v1/invoice_payments`) when a refund
    or dispute names a payment the service has not seen linked to an invoice."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    async def invoices_paid_by(self, payment_intent: str | None,
                               charge_id: str | None) -> tuple[str | None, list[str]]:
        """The payment's intent (found from the charge when only that is known) and the
        invoices it paid."""
        # stripe-python's synchronous client (the service installs no async HTTP client),
        # off the event loop.
        return await asyncio.to_thread(self._invoices_paid_by, payment_intent, charge_id)

    def _invoices_paid_by(self, payment_intent: str | None,
                          charge_id: str | None) -> tuple[str | None, list[str]]:
        try:
            if payment_intent is None and charge_id is not None:
                # Invoice payments are listed by payment intent: find the charge's.
                charge = self.client.v1.charges.retrieve(charge_id)
                payment_intent = object_id(charge.to_dict().get("payment_intent"))
            if payment_intent is None:
                return None, []
            page = self.client.v1.invoice_payments.list(params={
                "payment": {"type": "payment_intent", "payment_intent": payment_intent},
                "limit": 10})
        except stripe.InvalidRequestError as error:
            # No such payment (of another account, or deleted): it paid no invoice of ours.
            log.info("Stripe knows no invoice payment of %s: %s", payment_intent or charge_id,
                     error.user_message or error.code)
            return payment_intent, []
        paid = [p.to_dict() for p in page.data]
        return payment_intent, [found for p in paid if p.get("status") == "paid"
                                and (found := object_id(p.get("invoice")))]
