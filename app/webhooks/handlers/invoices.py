"""invoice.*: activation and renewal credits (keyed by invoice), payment failure and grace,
recovery."""

from __future__ import annotations

from datetime import timedelta

from app.billing.catalog import Plan
from app.billing.subscriptions import has_ended, period_grant_expiry
from app.clock import as_utc
from app.ledger.grants import grant_credits
from app.ledger.periods import close_period
from app.webhooks.context import EventContext, Outcome, PermanentFailure
from app.webhooks.payloads import (
    customer_of,
    invoice_charge,
    invoice_payment_intent,
    invoice_period,
    invoice_price,
    invoice_subscription,
    invoice_subscription_metadata,
)
from app.webhooks.resolution import resolve_account

CREDITED_REASONS = ("subscription_create", "subscription_cycle")


def _credited_plan(ctx: EventContext) -> Plan | None:
    """The plan whose monthly credits this invoice pays for, or None if it brings none."""
    invoice = ctx.obj
    reason = invoice.get("billing_reason")
    if reason not in CREDITED_REASONS:
        return None  # upgrades are credited from the subscription change, not the proration
    if reason == "subscription_create" and not invoice.get("amount_paid"):
        return None  # the $0 invoice that opens a trial
    return ctx.plan_for_price(invoice_price(invoice), f"invoice {invoice.get('id')}")


async def _account(ctx: EventContext) -> tuple[str, str | None]:
    invoice = ctx.obj
    customer = customer_of(invoice)
    account_id = await resolve_account(ctx, customer,
                                       metadata=[invoice_subscription_metadata(invoice)])
    return account_id, customer


async def invoice_paid(ctx: EventContext) -> Outcome:
    invoice = ctx.obj
    subscription = invoice_subscription(invoice)
    if subscription is None:
        return Outcome("ignored", customer_id=customer_of(invoice),
                       note="not a subscription invoice")
    plan = _credited_plan(ctx)  # before any write: an unknown price changes nothing
    account_id, customer = await _account(ctx)
    account = await ctx.repos.accounts.ensure(ctx.session, account_id, ctx.now)
    fields: dict = {}
    last_paid = account.get("last_paid_at")
    if last_paid is None or as_utc(last_paid) < ctx.created:
        fields["last_paid_at"] = ctx.created
    if account.get("subscription_status") == "past_due":
        # Recovery: the failure's grace ends with the payment.
        fields.update(subscription_status="active", grace_until=None, first_failure_at=None)
    if plan is None:
        await _save(ctx, account_id, fields)
        return Outcome("processed", account_id, customer,
                       note=f"no credits for billing_reason {invoice.get('billing_reason')}")
    key = f"invoice:{invoice['id']}"
    if await ctx.repos.ledger.by_key(ctx.session, account_id, key):
        await _save(ctx, account_id, fields)
        return Outcome("duplicate", account_id, customer, note="invoice already credited")
    start, end = invoice_period(invoice)
    if start is None or end is None:
        raise PermanentFailure(f"invoice {invoice['id']}: no service period on its lines",
                               code="bad_payload")
    policy = ctx.catalog.billing
    expires_at = period_grant_expiry(policy, end)
    source = f"stripe:invoice:{invoice['id']}"
    notes = []
    if invoice.get("billing_reason") == "subscription_cycle":
        closed = await close_period(
            ctx.session, ctx.repos, account_id, before=start, period_end=end,
            carry_policy=plan.rollover, expires_at=expires_at, now=ctx.now, source=source,
            key=f"rollover:{invoice['id']}")
        if closed:
            notes.append(closed["description"])
    if plan.monthly_credits:
        entry, _ = await grant_credits(
            ctx.session, ctx.repos, account_id, plan.monthly_credits, "subscription", ctx.now,
            expires_at=expires_at, source=source, idempotency_key=key, actor="stripe",
            description=f"{plan.name}: credits for the period",
            grant_fields={"period_start": start, "period_end": end,
                          "subscription_id": subscription})
        await _remember_payment(ctx, account_id, entry, plan.monthly_credits, source)
    current_end = account.get("current_period_end")
    # A paid invoice never revives a canceled subscription.
    if not has_ended(account, subscription) and (current_end is None or as_utc(current_end) <= end):
        # A paid period is active; a late invoice of an older period changes no state.
        fields.update(subscription_status="active", plan=plan.key, current_period_start=start,
                      current_period_end=end, stripe_subscription_id=subscription,
                      grace_until=None, first_failure_at=None)
    await _save(ctx, account_id, fields)
    return Outcome("processed", account_id, customer, note="; ".join(notes) or None)


async def invoice_payment_failed(ctx: EventContext) -> Outcome:
    invoice = ctx.obj
    if invoice_subscription(invoice) is None:
        return Outcome("ignored", customer_id=customer_of(invoice),
                       note="not a subscription invoice")
    account_id, customer = await _account(ctx)
    account = await ctx.repos.accounts.ensure(ctx.session, account_id, ctx.now)
    last_paid = account.get("last_paid_at")
    if last_paid is not None and as_utc(last_paid) >= ctx.created:
        return Outcome("processed", account_id, customer,
                       note="a later payment already succeeded")
    if has_ended(account, invoice_subscription(invoice)):
        return Outcome("processed", account_id, customer, note="subscription already ended")
    # Grace counts from the first failure's own time, so a late or repeated delivery of a
    # failure never extends it.
    first = account.get("first_failure_at")
    first = ctx.created if first is None else min(as_utc(first), ctx.created)
    await _save(ctx, account_id, {
        "subscription_status": "past_due", "first_failure_at": first,
        "grace_until": first + timedelta(days=ctx.catalog.billing.grace_days),
    })
    return Outcome("processed", account_id, customer)


async def _save(ctx: EventContext, account_id: str, fields: dict) -> None:
    if fields:
        await ctx.repos.accounts.set_fields(ctx.session, account_id, fields, ctx.now)


async def _remember_payment(ctx: EventContext, account_id: str, entry: dict, credits: int,
                            source: str) -> None:
    """So a dispute of this invoice's charge can find its account and credits."""
    invoice = ctx.obj
    payment_intent, charge = invoice_payment_intent(invoice), invoice_charge(invoice)
    if not (payment_intent or charge):
        return
    await ctx.stores.payments.remember(ctx.session, {
        "_id": payment_intent or charge, "charge_id": charge, "kind": "invoice",
        "account_id": account_id, "grant_id": entry["grants"][0]["grant_id"],
        "credits": credits, "amount": invoice.get("amount_paid"), "clawed_back": 0,
        "source": source, "created_at": ctx.now,
    })
