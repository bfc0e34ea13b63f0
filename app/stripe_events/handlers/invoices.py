"""invoice.*: a paid invoice whose plan line bills a period credits that period, whatever its
billing_reason; payment failure and grace, per subscription; recovery."""

from __future__ import annotations

from datetime import timedelta

from app.billing.standing import save_subscription, subscriptions_of
from app.kit.clock import as_utc
from app.ledger.documents import EntryDoc
from app.stripe_events.context import EventContext, Outcome, PermanentFailure
from app.stripe_events.handlers.topups import is_topup_invoice, topup_invoice_paid
from app.stripe_events.paid_periods import credit_paid_period, state_of
from app.stripe_events.payloads import (
    customer_of,
    invoice_charge,
    invoice_payment_intent,
    invoice_subscription,
    invoice_subscription_metadata,
)
from app.stripe_events.plan_lines import PlanLine, invoice_plan_line
from app.stripe_events.resolution import resolve_account

# A first or renewal invoice must have a plan line; any other paid invoice (an interval
# change, a billing-cycle anchor reset, a trial ended early, a resumption) starts a period
# when it has one, and is only a proration or one-off invoice when it has none.
REQUIRES_PLAN = ("subscription_create", "subscription_cycle")
# Stripe's invoice of a `payment_behavior=pending_if_incomplete` update.
UPDATE_REASON = "subscription_update"


def _opens_trial(invoice: dict, line: PlanLine, state: dict) -> bool:
    """The 0 first invoice of a trial grants nothing beyond the trial credits; a 0 invoice
    because a coupon took it all off is paid, and grants the period's credits."""
    if invoice.get("billing_reason") != "subscription_create" or invoice.get("amount_paid"):
        return False
    if line.bills_nothing:
        return True  # the "Trial period for ..." line
    trial_end = state.get("trial_end")
    return trial_end is not None and as_utc(trial_end) > line.start


async def _plan_line(ctx: EventContext) -> PlanLine | None:
    """The plan line (None: the invoice starts no period); when the event carries only the
    first of many lines (after many changes, Stripe lists the prorations first), every line,
    read from Stripe's API before the transaction, given STRIPE_API_KEY."""
    invoice = ctx.obj
    reason = invoice.get("billing_reason")
    stub = reason == "subscription_create"
    every = ctx.fetched.invoice_lines
    if every is not None:
        ctx.notes.append(f"{len(every)} lines read from Stripe's API")
        invoice = {**invoice, "lines": {"data": list(every)}}
    try:
        return invoice_plan_line(ctx.catalog, invoice, stub=stub)
    except PermanentFailure as missing:
        lines = invoice.get("lines")
        cut_short = every is None and isinstance(lines, dict) and lines.get("has_more")
        if not cut_short:
            if reason in REQUIRES_PLAN:
                raise
            return None
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
    if subscription is None and is_topup_invoice(invoice):
        return await topup_invoice_paid(ctx)
    if subscription is None:
        return Outcome(
            "ignored", customer_id=customer_of(invoice), note="not a subscription invoice"
        )
    reason = invoice.get("billing_reason")
    # Before any write: an invoice without a plan line of the catalog changes nothing.
    line = await _plan_line(ctx)
    account_id, customer = await _account(ctx)
    account = await ctx.repos.accounts.ensure(ctx.session, account_id, ctx.now)
    states = subscriptions_of(account)
    state = state_of(states, subscription)
    last_paid = state.get("last_paid_at")
    if last_paid is None or as_utc(last_paid) < ctx.created:
        state["last_paid_at"] = ctx.created
    if state.get("status") == "past_due":
        # Recovery: the failure's grace ends with the payment.
        state.update(status="active", grace_until=None, first_failure_at=None)
    if line is None or _opens_trial(invoice, line, state) or state.get("ended"):
        await save_subscription(ctx.session, ctx.repos, account_id, states, subscription, ctx.now)
        await _remember_payment(ctx, account_id, None, 0)
        why = (
            "the subscription was canceled"
            if line is not None and state.get("ended")
            else f"billing_reason {reason} bills no period"
            if line is None
            else "the trial's invoice"
        )
        return Outcome("processed", account_id, customer, note=f"no credits: {why}")
    key = f"invoice:{invoice['id']}"
    if await ctx.repos.ledger.by_key(ctx.session, account_id, key):
        await save_subscription(ctx.session, ctx.repos, account_id, states, subscription, ctx.now)
        return Outcome("duplicate", account_id, customer, note="invoice already credited")
    notes = await credit_paid_period(ctx, account_id, state, line)
    entry = await ctx.repos.ledger.by_key(ctx.session, account_id, key)
    await _remember_payment(ctx, account_id, entry, entry["amount"] if entry else 0)
    await save_subscription(ctx.session, ctx.repos, account_id, states, subscription, ctx.now)
    return Outcome("processed", account_id, customer, note="; ".join(notes) or None)


async def invoice_payment_failed(ctx: EventContext) -> Outcome:
    invoice = ctx.obj
    subscription = invoice_subscription(invoice)
    if subscription is None:
        return Outcome(
            "ignored", customer_id=customer_of(invoice), note="not a subscription invoice"
        )
    account_id, customer = await _account(ctx)
    account = await ctx.repos.accounts.ensure(ctx.session, account_id, ctx.now)
    states = subscriptions_of(account)
    state = state_of(states, subscription)
    last_paid = state.get("last_paid_at")
    if last_paid is not None and as_utc(last_paid) >= ctx.created:
        return Outcome("processed", account_id, customer, note="a later payment already succeeded")
    if state.get("ended"):
        return Outcome("processed", account_id, customer, note="subscription already ended")
    if state.get("pending_update") and invoice.get("billing_reason") == UPDATE_REASON:
        # payment_behavior=pending_if_incomplete: Stripe keeps the subscription active on its
        # current plan and drops the update if it is never paid.
        return Outcome(
            "processed",
            account_id,
            customer,
            note="the invoice of a pending update: the subscription stays on its plan",
        )
    # Grace counts from the first failure's own time, so a late or repeated delivery of a
    # failure never extends it.
    first = state.get("first_failure_at")
    first = ctx.created if first is None else min(as_utc(first), ctx.created)
    state.update(
        status="past_due",
        first_failure_at=first,
        grace_until=first + timedelta(days=ctx.catalog.billing.grace_days),
    )
    await save_subscription(ctx.session, ctx.repos, account_id, states, subscription, ctx.now)
    return Outcome("processed", account_id, customer)


async def _remember_payment(
    ctx: EventContext, account_id: str, entry: EntryDoc | None, credits: int
) -> None:
    """What this invoice's payment brought, keyed by the invoice, so that a refund or dispute
    of its payment (linked now from the legacy fields, or by `invoice_payment.paid`) finds
    its account and credits."""
    invoice = ctx.obj
    known = await ctx.stores.payments.remember_invoice(
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
    # Its payment, linked now or before: disputes of it parked until now are applied next.
    ctx.linked_payments.extend(
        p for p in (known.get("payment_intent"), known.get("charge_id")) if p
    )
