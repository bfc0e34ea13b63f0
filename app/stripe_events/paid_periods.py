"""A paid plan line credits its period: the previous periods of the subscription close (their
unused credits carried per the plan's rollover), the period's first unit is credited, and the
subscription moves to the period unless a newer one was already paid."""

from __future__ import annotations

from datetime import datetime

from app.billing.allocation import month_bounds, schedule
from app.billing.standing import usable_id
from app.billing.subscriptions import period_grant_expiry
from app.billing.units import Learned, newest_paid_unit
from app.kit.clock import as_utc
from app.ledger.periods import close_period
from app.stripe_events.context import EventContext, PermanentFailure
from app.stripe_events.plan_lines import PlanLine


def state_of(states: dict[str, dict], subscription_id: str) -> dict:
    """The subscription's state among the account's (a new one when it has none)."""
    if not usable_id(subscription_id):
        raise PermanentFailure(
            f"subscription id {subscription_id[:64]!r} is not a Stripe id", code="bad_payload"
        )
    return states.setdefault(subscription_id, {"id": subscription_id, "units": {}})


async def credit_paid_period(
    ctx: EventContext, account_id: str, state: dict, line: PlanLine
) -> list[str]:
    """Credit the period `line` pays; returns notes for the event log."""
    invoice = ctx.obj
    subscription = state["id"]
    plan, start, end = line.plan, line.start, line.end
    bounds = month_bounds(start, end)
    monthly = plan.allocation == "monthly" and len(bounds) > 2
    # A yearly price with monthly credits: this invoice pays the first month, the sweep the rest.
    unit_end = bounds[1] if monthly else end
    newest = newest_paid_unit(state)
    late = newest is not None and as_utc(newest["period_start"]) > start
    source = f"stripe:invoice:{invoice['id']}"
    notes = []
    if not late:
        closed = await _close_before(ctx, account_id, subscription, start, unit_end, plan, source)
        if closed:
            notes.append(closed)
    await ctx.credit_unit(
        account_id,
        state,
        Learned(
            subscription,
            start,
            unit_end,
            plan,
            plan.credits_for(line.quantity, 1 if monthly else len(bounds) - 1),
            start,
            paid=True,
            share=line.share,
            first_key=f"invoice:{invoice['id']}",
            period_start=start,
        ),
        source=source,
        description=f"{plan.name}: credits for the "
        + ("first month of the period" if monthly else "period"),
    )
    if line.share < 1:
        notes.append(f"a stub period: {line.share.numerator}/{line.share.denominator} billed")
    if late:
        notes.append("a period older than the newest paid one")
        closed = await close_into_newest(ctx, account_id, state, source)
        if closed:
            notes.append(closed)
    elif state.get("period_start") is None or as_utc(state["period_start"]) <= start:
        state.update(
            status="active",
            plan=plan.key,
            quantity=line.quantity,
            period_start=start,
            period_end=end,
            grace_until=None,
            first_failure_at=None,
            allocation=schedule(subscription, invoice["id"], start, end) if monthly else None,
        )
    return notes


async def close_into_newest(
    ctx: EventContext, account_id: str, state: dict, source: str, key: str | None = None
) -> str | None:
    """Credits granted late for a period older than the newest paid one (its invoice, or a
    trial's snapshot, came after a newer period's invoice) close into the newest, as its
    invoice would have closed them had the events come in order."""
    newest = newest_paid_unit(state)
    if newest is None:
        return None
    plan = ctx.catalog.plan(newest.get("plan") or "")
    if plan is None:
        return None
    start, end = as_utc(newest["start"]), as_utc(newest["end"])
    return await _close_before(ctx, account_id, state["id"], start, end, plan, source, recarry=True)


async def _close_before(
    ctx: EventContext,
    account_id: str,
    subscription: str,
    before: datetime,
    unit_end: datetime,
    plan,
    source: str,
    *,
    recarry: bool = False,
    key: str | None = None,
) -> str | None:
    """Close the subscription's grants of periods that began before `before`, carrying what
    the plan's rollover allows into a grant that expires with the unit."""
    closed = await close_period(
        ctx.session,
        ctx.repos,
        account_id,
        before=before,
        period_end=unit_end,
        carry_policy=plan.rollover,
        expires_at=period_grant_expiry(ctx.catalog.billing, unit_end),
        now=ctx.now,
        source=source,
        key=key or f"rollover:{ctx.obj['id']}",
        subscription_id=subscription,
        period_start=before,
        recarry=recarry,
    )
    return closed["description"] if closed else None
