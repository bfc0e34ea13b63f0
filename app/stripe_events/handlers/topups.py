"""invoice.paid / invoice.payment_succeeded of an auto top-up's invoice: Stripe's confirmation
by webhook, the twin of the job's own answer; whichever comes first grants, the other is a
duplicate (both keyed by the invoice)."""

from __future__ import annotations

from app.stripe_events.context import EventContext, Outcome
from app.stripe_events.payloads import customer_of
from app.topups.confirm import confirm_paid, topup_of
from app.topups.repository import TopupRepository


def is_topup_invoice(invoice: dict) -> bool:
    return topup_of(invoice) is not None


async def topup_invoice_paid(ctx: EventContext) -> Outcome:
    invoice = ctx.obj
    customer = customer_of(invoice)
    if invoice.get("status") not in (None, "paid"):
        return Outcome("ignored", customer_id=customer, note="top-up invoice not paid")
    topups = TopupRepository(ctx.repos.db)
    outcome, topup = await confirm_paid(
        ctx.session, ctx.repos, topups, ctx.stores.payments, ctx.catalog, invoice, ctx.now
    )
    account_id = topup["account_id"] if topup else None
    if outcome == "unknown" or topup is None:
        return Outcome("ignored", account_id, customer, note="names no top-up of this service")
    if outcome == "duplicate":
        return Outcome("duplicate", account_id, customer, note="top-up already granted")
    return Outcome("processed", account_id, customer, note=f"top-up {topup['_id']} granted")
