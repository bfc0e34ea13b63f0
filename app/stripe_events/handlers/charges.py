"""charge.refunded and charge.dispute.*: claw back what a refunded or lost payment brought,
and suspend access while a dispute is open."""

from __future__ import annotations

from app.ledger.entries import Attribution
from app.ledger.expiry import expire_due
from app.ledger.grants import take_back
from app.ledger.repository import known
from app.storage.documents import Doc
from app.stripe_events.context import EventContext, Outcome, PaidInvoices
from app.stripe_events.payloads import object_id


async def _payment(ctx: EventContext, payment_intent: object, charge: object) -> Doc | None:
    """The payment that brought credits (a pack's, a subscription invoice's), or None."""
    payment_intent_id, charge_id = object_id(payment_intent), object_id(charge)
    payment = await ctx.stores.payments.find(ctx.session, payment_intent_id, charge_id)
    paid = ctx.fetched.paid_invoices
    if (payment is None or payment.get("account_id") is None) and paid:
        payment = await _link_paid_invoices(ctx, paid, charge_id) or payment
    if payment is None or payment.get("account_id") is None:
        return None
    # Every write to an account first expires what is due on it.
    await expire_due(ctx.session, ctx.repos, payment["account_id"], ctx.now)
    return payment


async def _link_paid_invoices(
    ctx: EventContext, paid: PaidInvoices, charge_id: str | None
) -> Doc | None:
    """Keep what Stripe said (before the transaction) the payment paid: a subscription's
    payment whose `invoice_payment.paid` never came."""
    found = None
    for invoice in paid.invoices:
        linked = await ctx.stores.payments.link_invoice(
            ctx.session, invoice, paid.payment_intent, charge_id, ctx.now
        )
        ctx.notes.append(f"Stripe's API: the payment paid invoice {invoice}")
        if found is None and linked.get("account_id") is not None:
            found = linked
    return found


async def charge_refunded(ctx: EventContext) -> Outcome:
    charge = ctx.obj
    payment = await _payment(ctx, charge.get("payment_intent"), charge.get("id"))
    if payment is None:
        return Outcome("ignored", note="not a payment that brought credits")
    if payment["kind"] != "pack":
        return Outcome(
            "ignored",
            payment["account_id"],
            note="refunds of subscription invoices claw nothing back; "
            "use an adjustment if credits should go",
        )
    amount, refunded = charge.get("amount") or 0, charge.get("amount_refunded") or 0
    if amount <= 0:
        return Outcome("ignored", payment["account_id"], note="charge without an amount")
    # Partial refunds add up: each claws back its share of the total refunded so far, less
    # what earlier refunds already took.
    target = payment["credits"] * min(refunded, amount) // amount
    return await _claw_back(
        ctx,
        payment,
        target,
        key=f"refund:{charge['id']}:{refunded}",
        what=f"refund of {refunded}/{amount}",
    )


def _unattributed(ctx: EventContext) -> Outcome:
    """A dispute of a payment known to bring no credits is ignored. One of a payment not linked
    yet (its `invoice_payment.paid` still to come, and no STRIPE_API_KEY to ask, or its
    invoice not applied yet) is ignored for now and looked at again when the link arrives."""
    dispute = ctx.obj
    asked = ctx.fetched.paid_invoices
    if asked is not None and not asked.invoices:
        return Outcome("ignored", note="dispute of a payment that brought no credits")
    ids = (object_id(dispute.get("payment_intent")), object_id(dispute.get("charge")))
    waits_for = tuple(p for p in ids if p)
    return Outcome(
        "ignored",
        note=f"dispute of a payment not linked to an invoice yet ({', '.join(waits_for)}): "
        "looked at again when invoice_payment.paid (or the invoice naming it) links it",
        awaits_payment=waits_for,
    )


async def _disputed(ctx: EventContext) -> dict | None:
    """The remembered payment a dispute concerns (None: not one of ours, or not yet linked)."""
    return await _payment(ctx, ctx.obj.get("payment_intent"), ctx.obj.get("charge"))


async def dispute_created(ctx: EventContext) -> Outcome:
    if (payment := await _disputed(ctx)) is None:
        return _unattributed(ctx)
    await ctx.repos.accounts.open_dispute(
        ctx.session, payment["account_id"], ctx.obj["id"], ctx.now
    )
    return Outcome("processed", payment["account_id"])


async def dispute_closed(ctx: EventContext) -> Outcome:
    dispute = ctx.obj
    if (payment := await _disputed(ctx)) is None:
        return _unattributed(ctx)
    await ctx.repos.accounts.close_dispute(
        ctx.session, payment["account_id"], dispute["id"], ctx.now
    )
    if dispute.get("status") != "lost":
        return Outcome("processed", payment["account_id"], note=f"dispute {dispute.get('status')}")
    return await _claw_back(
        ctx, payment, payment["credits"], key=f"dispute:{dispute['id']}", what="lost dispute"
    )


async def _claw_back(
    ctx: EventContext, payment: dict, target: int, *, key: str, what: str
) -> Outcome:
    account_id = payment["account_id"]
    already = payment["clawed_back"]
    delta = target - already
    if delta <= 0:
        return Outcome("duplicate", account_id, note=f"{what}: nothing more to claw back")
    # The guarded raise of clawed_back is the write that can be refused: first.
    if not await ctx.stores.payments.add_clawback(ctx.session, payment["_id"], already, delta):
        return Outcome("duplicate", account_id, note=f"{what}: clawed back concurrently")
    account = known(await ctx.repos.accounts.get(ctx.session, account_id), account_id)
    await take_back(
        ctx.session,
        ctx.repos,
        account,
        delta,
        ctx.now,
        entry_type="clawback",
        first_grant=payment["grant_id"],
        by=Attribution(payment["source"], key, "stripe", what),
    )
    return Outcome("processed", account_id, note=f"{what}: clawed back {delta}")
