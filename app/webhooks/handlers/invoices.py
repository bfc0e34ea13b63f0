"""invoice.*: activation and renewal credits (keyed by invoice), payment failure and grace,
recovery."""

from __future__ import annotations

from datetime import timedelta

from app.billing.allocation import month_bounds, schedule
from app.billing.subscriptions import has_ended, period_grant_expiry
from app.clock import as_utc
from app.ledger.grants import grant_credits
from app.ledger.periods import close_period
from app.webhooks.context import EventContext, Outcome, PermanentFailure
from app.webhooks.payloads import (
    customer_of,
    invoice_charge,
    invoice_payment_intent,
    invoice_subscription,
    invoice_subscription_metadata,
)
from app.webhooks.plan_lines import PlanLine, invoice_plan_line
from app.webhooks.resolution import resolve_account

CREDITED_REASONS = ("subscription_create", "subscription_cycle")


def _opens_trial(invoice: dict, line: PlanLine, account: dict, subscription: str) -> bool:
    """The 0 first invoice of a trial grants nothing beyond the trial credits; a 0 invoice
    because a coupon took it all off is paid, and grants the period's credits."""
    if invoice.get("billing_reason") != "subscription_create" or invoice.get("amount_paid"):
        return False
    if line.bills_nothing:
        return True  # the "Trial period for ..." line
    trial_end = (
        account.get("trial_end") if account.get("stripe_subscription_id") == subscription else None
    )
    return trial_end is not None and as_utc(trial_end) > line.start


async def _plan_line(ctx: EventContext) -> PlanLine:
    """The plan line; when the event carries only the first of many lines (after many
    changes, Stripe lists the prorations first), every line, read from Stripe's API before
    the transaction, given STRIPE_API_KEY."""
    invoice = ctx.obj
    every = ctx.fetched.invoice_lines
    if every is not None:
        ctx.notes.append(f"{len(every)} lines read from Stripe's API")
        return invoice_plan_line(ctx.catalog, {**invoice, "lines": {"data": list(every)}})
    try:
        return invoice_plan_line(ctx.catalog, invoice)
    except PermanentFailure as missing:
        lines = invoice.get("lines")
        if not (isinstance(lines, dict) and lines.get("has_more")):
            raise
        raise PermanentFailure(
            f"{missing} The event carries only the invoice's first "
            "lines: set STRIPE_API_KEY so the rest can be read, and "
            "replay.",
            code=missing.code,
        ) from None


async def _account(ctx: EventContext) -> tuple[str, str | None]:
    invoice = ctx.obj
    customer = customer_of(invoice)
    account_id = await resolve_account(
        ctx, customer, metadata=[invoice_subscription_metadata(invoice)]
    )
    return account_id, customer


async def invoice_paid(ctx: EventContext) -> Outcome:
    invoice = ctx.obj
    subscription = invoice_subscription(invoice)
    if subscription is None:
        return Outcome(
            "ignored", customer_id=customer_of(invoice), note="not a subscription invoice"
        )
    reason = invoice.get("billing_reason")
    # Before any write: an invoice without a plan line of the catalog changes nothing.
    line = await _plan_line(ctx) if reason in CREDITED_REASONS else None
    account_id, customer = await _account(ctx)
    account = await ctx.repos.accounts.ensure(ctx.session, account_id, ctx.now)
    fields: dict = {}
    last_paid = account.get("last_paid_at")
    if last_paid is None or as_utc(last_paid) < ctx.created:
        fields["last_paid_at"] = ctx.created
    if account.get("subscription_status") == "past_due":
        # Recovery: the failure's grace ends with the payment.
        fields.update(subscription_status="active", grace_until=None, first_failure_at=None)
    if line is None or _opens_trial(invoice, line, account, subscription):
        await _save(ctx, account_id, fields)
        await _remember_payment(ctx, account_id, None, 0)
        why = f"billing_reason {reason}" if line is None else "the trial's invoice"
        return Outcome("processed", account_id, customer, note=f"no credits for {why}")
    key = f"invoice:{invoice['id']}"
    if await ctx.repos.ledger.by_key(ctx.session, account_id, key):
        await _save(ctx, account_id, fields)
        return Outcome("duplicate", account_id, customer, note="invoice already credited")
    plan, start, end = line.plan, line.start, line.end
    bounds = month_bounds(start, end)
    monthly = plan.allocation == "monthly" and len(bounds) > 2
    # A yearly price with monthly credits: this invoice pays the first month, the sweep the rest.
    granted_until = bounds[1] if monthly else end
    credits = plan.credits_for(line.quantity, 1 if monthly else len(bounds) - 1)
    policy = ctx.catalog.billing
    expires_at = period_grant_expiry(policy, granted_until)
    source = f"stripe:invoice:{invoice['id']}"
    notes = []
    if reason == "subscription_cycle":
        closed = await close_period(
            ctx.session,
            ctx.repos,
            account_id,
            before=start,
            period_end=granted_until,
            carry_policy=plan.rollover,
            expires_at=expires_at,
            now=ctx.now,
            source=source,
            key=f"rollover:{invoice['id']}",
        )
        if closed:
            notes.append(closed["description"])
    entry = None
    if credits > 0:
        entry, _ = await grant_credits(
            ctx.session,
            ctx.repos,
            account_id,
            credits,
            "subscription",
            ctx.now,
            expires_at=expires_at,
            source=source,
            idempotency_key=key,
            actor="stripe",
            description=f"{plan.name}: credits for the "
            + ("first month of the period" if monthly else "period"),
            grant_fields={
                "period_start": start,
                "period_end": granted_until,
                "subscription_id": subscription,
            },
        )
    await _remember_payment(ctx, account_id, entry, credits)
    current_end = account.get("current_period_end")
    # A paid invoice never revives a canceled subscription.
    if not has_ended(account, subscription) and (current_end is None or as_utc(current_end) <= end):
        # A paid period is active; a late invoice of an older period changes no state.
        fields.update(
            subscription_status="active",
            plan=plan.key,
            plan_quantity=line.quantity,
            current_period_start=start,
            current_period_end=end,
            stripe_subscription_id=subscription,
            grace_until=None,
            first_failure_at=None,
            allocation=schedule(subscription, invoice["id"], start, end) if monthly else None,
        )
    await _save(ctx, account_id, fields)
    return Outcome("processed", account_id, customer, note="; ".join(notes) or None)


async def invoice_payment_failed(ctx: EventContext) -> Outcome:
    invoice = ctx.obj
    if invoice_subscription(invoice) is None:
        return Outcome(
            "ignored", customer_id=customer_of(invoice), note="not a subscription invoice"
        )
    account_id, customer = await _account(ctx)
    account = await ctx.repos.accounts.ensure(ctx.session, account_id, ctx.now)
    last_paid = account.get("last_paid_at")
    if last_paid is not None and as_utc(last_paid) >= ctx.created:
        return Outcome("processed", account_id, customer, note="a later payment already succeeded")
    if has_ended(account, invoice_subscription(invoice)):
        return Outcome("processed", account_id, customer, note="subscription already ended")
    # Grace counts from the first failure's own time, so a late or repeated delivery of a
    # failure never extends it.
    first = account.get("first_failure_at")
    first = ctx.created if first is None else min(as_utc(first), ctx.created)
    await _save(
        ctx,
        account_id,
        {
            "subscription_status": "past_due",
            "first_failure_at": first,
            "grace_until": first + timedelta(days=ctx.catalog.billing.grace_days),
        },
    )
    return Outcome("processed", account_id, customer)


async def _save(ctx: EventContext, account_id: str, fields: dict) -> None:
    if fields:
        await ctx.repos.accounts.set_fields(ctx.session, account_id, fields, ctx.now)


async def _remember_payment(
    ctx: EventContext, account_id: str, entry: dict | None, credits: int
) -> None:
    """What this invoice's payment brought, keyed by the invoice, so that a refund or dispute
    of its payment (linked now from the legacy fields, or by `invoice_payment.paid`) finds
    its account and credits."""
    invoice = ctx.obj
    await ctx.stores.payments.remember_invoice(
        ctx.session,
        invoice["id"],
        {
            "kind": "invoice",
            "account_id": account_id,
            "grant_id": entry["grants"][0]["grant_id"] if entry else None,
            "credits": credits,
            "amount": invoice.get("amount_paid"),
            "source": f"stripe:invoice:{invoice['id']}",
        },
        payment_intent=invoice_payment_intent(invoice),
        charge_id=invoice_charge(invoice),
        now=ctx.now,
    )
