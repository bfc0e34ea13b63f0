"""customer.subscription.*: each subscription's status, plan, period and cancellation from its
newest snapshot; trial credits; a plan or seat count in force from the event's time, which
may raise the entitlement of the period it falls in; cancellation ends that subscription's
period credits only."""

from __future__ import annotations

from datetime import datetime

from app.billing.allocation import month_bounds
from app.billing.catalog import Plan
from app.billing.standing import save_subscription, subscriptions_of
from app.billing.subscriptions import account_status, is_newer, snapshot_order
from app.billing.units import Learned, newest_paid_unit
from app.kit.clock import as_utc
from app.ledger.entries import Attribution
from app.ledger.expiry import expire_grant
from app.ledger.grants import NewGrant, grant_credits
from app.ledger.periods import PERIOD_KINDS
from app.stripe_events.context import EventContext, Outcome
from app.stripe_events.paid_periods import close_into_newest, state_of
from app.stripe_events.payloads import customer_of, metadata, subscription_period, ts
from app.stripe_events.plan_lines import subscription_plan
from app.stripe_events.resolution import resolve_account


async def subscription_changed(ctx: EventContext) -> Outcome:
    sub = ctx.obj
    # Before any write: a subscription without a plan of the catalog changes nothing.
    plan, quantity = subscription_plan(ctx.catalog, sub)
    customer = customer_of(sub)
    account_id = await resolve_account(ctx, customer, metadata=[metadata(sub)])
    account = await ctx.repos.accounts.ensure(ctx.session, account_id, ctx.now)
    states = subscriptions_of(account)
    state = state_of(states, sub["id"])
    if state.get("ended"):
        return Outcome(
            "processed", account_id, customer, note="the subscription was canceled: unchanged"
        )
    start, end = subscription_period(sub)
    status = account_status(sub.get("status"))
    notes = []
    if status == "trialing" and plan.trial_credits:
        notes.append(await _grant_trial(ctx, account_id, plan, sub, end))
        if newest_paid_unit(state) is not None:
            # The trial's snapshot came after a paid period began: its credits close at once.
            source, key = f"stripe:subscription:{sub['id']}", f"rollover:{ctx.id}"
            notes.append(await close_into_newest(ctx, account_id, state, source, key) or "")
    if start is not None and end is not None and status in ("active", "past_due"):
        # What the snapshot shows was in force at its time, whatever order it came in: the
        # period it falls in is entitled to at least that much from then on.
        raised = await _credit_plan_in_force(ctx, account_id, state, plan, quantity, start, end)
        if raised:
            notes.append(f"more credits for the period: {raised}")
            newest = newest_paid_unit(state)
            if (
                newest is not None
                and as_utc(newest["start"]) > _unit_at(plan, start, end, ctx.created)[0]
            ):
                # A newer period was paid before this raise arrived: its credits close into
                # it, as that period's invoice would have closed them.
                source, key = f"stripe:subscription:{sub['id']}", f"rollover:{ctx.id}"
                notes.append(await close_into_newest(ctx, account_id, state, source, key) or "")
    order = snapshot_order(ctx.created, start, ctx.type)
    if not is_newer(order, state.get("order")):
        await save_subscription(ctx.session, ctx.repos, account_id, states, sub["id"], ctx.now)
        notes.append("older than the last snapshot applied: state unchanged")
        return Outcome("processed", account_id, customer, note="; ".join(notes))
    last_paid = state.get("last_paid_at")
    if status == "past_due" and last_paid is not None and as_utc(last_paid) >= ctx.created:
        status = state.get("status") or status  # a payment since then settled it
    state.update(
        status=status,
        plan=plan.key,
        quantity=quantity,
        period_start=start,
        period_end=end,
        cancel_at=_cancel_at(sub, end),
        trial_end=ts(sub.get("trial_end")),
        order=order,
        pending_update=bool(sub.get("pending_update")),
    )
    if status != "past_due":
        state.update(grace_until=None, first_failure_at=None)
    allocation = state.get("allocation")
    if allocation and start is not None and as_utc(allocation["period_start"]) != start:
        state["allocation"] = None  # a new period (an interval change): the old months stop
    await save_subscription(ctx.session, ctx.repos, account_id, states, sub["id"], ctx.now)
    return Outcome("processed", account_id, customer, note="; ".join(n for n in notes if n))


async def _grant_trial(ctx: EventContext, account_id: str, plan: Plan, sub: dict, end) -> str:
    trial_end = ts(sub.get("trial_end")) or end
    if trial_end is not None and trial_end <= ctx.now:
        return ""
    granted = await grant_credits(
        ctx.session,
        ctx.repos,
        NewGrant(
            account_id,
            plan.trial_credits,
            "trial",
            expires_at=trial_end,
            by=Attribution(
                f"stripe:subscription:{sub['id']}",
                f"trial:{sub['id']}",
                "stripe",
                f"{plan.name} trial",
            ),
            grant_fields={
                "period_start": ts(sub.get("trial_start")) or ctx.created,
                "period_end": trial_end,
                "subscription_id": sub["id"],
            },
        ),
        ctx.now,
    )
    return "trial credits granted" if granted else "trial already granted"


async def _credit_plan_in_force(
    ctx: EventContext,
    account_id: str,
    state: dict,
    plan: Plan,
    quantity: int,
    start: datetime,
    end: datetime,
) -> int:
    """Record the plan x seats in force at the event's time in the unit it falls in (the month
    under way when a longer period's credits come monthly); a paid unit grants what its
    entitlement now exceeds the most granted for it."""
    unit_start, unit_end, months = _unit_at(plan, start, end, ctx.created)
    return await ctx.credit_unit(
        account_id,
        state,
        Learned(
            state["id"],
            unit_start,
            unit_end,
            plan,
            plan.credits_for(quantity, months),
            ctx.created,
            period_start=start,
        ),
        source=f"stripe:subscription:{state['id']}",
        description=f"{plan.name}: credits for the period",
    )


def _unit_at(plan: Plan, start: datetime, end: datetime, at: datetime):
    """The unit of the period that `at` falls in, and its months."""
    bounds = month_bounds(start, end)
    if plan.allocation == "per_period" or len(bounds) <= 2:
        return start, end, len(bounds) - 1
    current = max((n for n in range(len(bounds) - 1) if bounds[n] <= at), default=0)
    return bounds[current], bounds[current + 1], 1


async def subscription_deleted(ctx: EventContext) -> Outcome:
    sub = ctx.obj
    customer = customer_of(sub)
    account_id = await resolve_account(ctx, customer, metadata=[metadata(sub)])
    account = await ctx.repos.accounts.ensure(ctx.session, account_id, ctx.now)
    states = subscriptions_of(account)
    state = state_of(states, sub["id"])
    start, _ = subscription_period(sub)
    order = snapshot_order(ctx.created, start, ctx.type)
    last = state.get("order")
    # Cancellation is final, whatever order it arrives in; only this subscription's period
    # credits end (another subscription's, and packs, are untouched).
    for grant in await ctx.repos.grants.by_kinds(ctx.session, account_id, PERIOD_KINDS):
        if grant.get("subscription_id") in (sub["id"], None):
            await expire_grant(
                ctx.session, ctx.repos, grant, ctx.now, reason="subscription canceled"
            )
    state.update(
        status="canceled",
        ended=True,
        cancel_at=None,
        grace_until=None,
        first_failure_at=None,
        allocation=None,
        order=order if is_newer(order, last) else last,
    )
    await save_subscription(ctx.session, ctx.repos, account_id, states, sub["id"], ctx.now)
    return Outcome("processed", account_id, customer)


def _cancel_at(sub: dict, period_end):
    if sub.get("cancel_at"):
        return ts(sub["cancel_at"])
    if sub.get("cancel_at_period_end"):
        return period_end
    return None
