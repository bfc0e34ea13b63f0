"""invoice_payment.paid: which payment paid which invoice. The current payload layout no
longer puts the charge or payment intent on the invoice; this link is how a refund or dispute
of a subscription's payment finds the invoice, and so its account and credits."""

from __future__ import annotations

from app.stripe_events.context import EventContext, Outcome
from app.stripe_events.payloads import object_id


async def invoice_payment_paid(ctx: EventContext) -> Outcome:
    paid = ctx.obj
    invoice = object_id(paid.get("invoice"))
    payment = paid.get("payment")
    if not isinstance(payment, dict):
        payment = {}
    payment_intent = object_id(payment.get("payment_intent"))
    charge = object_id(payment.get("charge"))
    if invoice is None or not (payment_intent or charge):
        return Outcome("ignored", note="names no invoice, or no payment intent or charge")
    known = await ctx.stores.payments.link_invoice(
        ctx.session, invoice, payment_intent, charge, ctx.now
    )
    if known.get("account_id") is not None:
        # Disputes of this payment parked until now are applied after this commits.
        ctx.linked_payments.extend(p for p in (payment_intent, charge) if p)
    return Outcome(
        "processed",
        known.get("account_id"),
        note=f"payment {payment_intent or charge} paid invoice {invoice}",
    )
