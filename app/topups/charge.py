"""The purchase at Stripe: a one-off invoice for the pack's price, finalized and paid
off-session with the customer's default payment method (or the one the settings name). Every
request carries an idempotency key derived from the top-up and the step, so a re-run after a
crash or a lost answer repeats the same requests and Stripe answers them as the first time:
one invoice, one charge. Called off the event loop (stripe-python's synchronous client)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

import stripe

Doc = dict[str, Any]


@dataclass(frozen=True)
class Purchase:
    topup_id: str
    account_id: str
    customer: str
    price: str
    quantity: int
    payment_method: str | None
    description: str

    @classmethod
    def of(cls, topup: Doc) -> Purchase:
        return cls(
            topup["_id"],
            topup["account_id"],
            topup["customer"],
            topup["price"],
            topup["quantity"],
            topup.get("payment_method"),
            topup["description"],
        )


@dataclass(frozen=True)
class Charged:
    """What Stripe said: `paid` (the invoice), `failed` (Stripe's code, decline code and
    message), or `unreachable` (no answer, or Stripe's own error: try again, same keys)."""

    outcome: Literal["paid", "failed", "unreachable"]
    invoice_id: str | None = None
    invoice: Doc | None = None
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None


class StripeCharger:
    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    async def unit_amount(self, price: str) -> tuple[int | None, str | None]:
        """The price's amount per pack and currency (for a cap in money)."""
        found = await asyncio.to_thread(self.client.v1.prices.retrieve, price)
        return found.unit_amount, found.currency

    async def charge(self, purchase: Purchase) -> Charged:
        return await asyncio.to_thread(self._charge, purchase)

    def _charge(self, p: Purchase) -> Charged:
        def key(step: str) -> stripe.RequestOptions:
            return {"idempotency_key": f"topup:{p.topup_id}:{step}"}

        pay: stripe.params.InvoicePayParams = {"off_session": True, "expand": ["payments"]}
        if p.payment_method:
            pay["payment_method"] = p.payment_method
        invoice_id = None
        try:
            invoice = self.client.v1.invoices.create(
                params={
                    "customer": p.customer,
                    "collection_method": "charge_automatically",
                    "auto_advance": False,  # we pay it now; Stripe does not retry on its own
                    "pending_invoice_items_behavior": "exclude",
                    "description": p.description,
                    "metadata": {"account_id": p.account_id, "topup_id": p.topup_id},
                    **({"default_payment_method": p.payment_method} if p.payment_method else {}),
                },
                options=key("invoice"),
            )
            invoice_id = invoice.id
            self.client.v1.invoice_items.create(
                params={
                    "customer": p.customer,
                    "invoice": invoice_id,
                    "pricing": {"price": p.price},
                    "quantity": p.quantity,
                },
                options=key("item"),
            )
            self.client.v1.invoices.finalize_invoice(
                invoice_id, params={"auto_advance": False}, options=key("finalize")
            )
            paid = self.client.v1.invoices.pay(
                invoice_id,
                params=pay,
                options=key("pay"),
            )
        except stripe.CardError as error:
            return _failed(invoice_id, error)
        except (
            stripe.APIConnectionError,
            stripe.RateLimitError,
            stripe.APIError,
            # Another worker (whose lease ran out) is sending the same request right now.
            stripe.IdempotencyError,
        ) as error:
            return Charged("unreachable", invoice_id, message=_message(error))
        except stripe.StripeError as error:
            if (error.http_status or 0) >= 500 or error.http_status == 409:
                return Charged("unreachable", invoice_id, message=_message(error))
            return _failed(invoice_id, error)
        done = paid.to_dict()
        if done.get("status") != "paid":
            # Paid out of band later, the webhook grants it; as of now it is not paid.
            return Charged("failed", invoice_id, code=f"invoice_{done.get('status')}")
        return Charged("paid", invoice_id, invoice=done)


def _failed(invoice_id: str | None, error: stripe.StripeError) -> Charged:
    details = error.error
    return Charged(
        "failed",
        invoice_id,
        code=error.code or "stripe_error",
        decline_code=getattr(details, "decline_code", None) if details else None,
        message=_message(error),
    )


def _message(error: stripe.StripeError) -> str:
    # Stripe's own words (never our key: the client never puts it in a message).
    return (error.user_message or type(error).__name__)[:500]
