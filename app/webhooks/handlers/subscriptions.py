"""customer.subscription.*: status, plan, period and cancellation from the newest snapshot;
trial credits; upgrade credits; cancellation ends the period credits."""

from __future__ import annotations

from app.billing.allocation import month_bounds
from app.billing.catalog import Plan
from app.billing.subscriptions import (
    account_status,
    is_newer,
    period_grant_expiry,
    snapshot_order,
    starts_next_period,
    upgrade_credits,
    with_canceled,
)
from app.clock import as_utc
from app.ledger.expiry import expire_grant
from app.ledger.grants import grant_credits
from app.ledger.periods import PERIOD_KINDS
from app.webhooks.context import EventContext, Outcome
from app.webhooks.payloads import customer_of, metadata, subscription_period, ts
from app.webhooks.plan_lines import subscription_plan
from app.webhooks.resolution import resolve_account


async def subscription_changed(ctx: EventContext) -> Outcome:
    sub = ctx.obj
    # Before any write: a subscription without a plan of the catalog changes nothing.
    plan, quantity = subscription_plan(ctx.catalog, sub)
    customer = customer_of(sub)
    account_id = await resolve_account(ctx, customer, metadata=[metadata(sub)])
    account = await ctx.repos.accounts.ensure(ctx.session, account_id, ctx.now)
    start, end = subscription_period(sub)
    order = snapshot_order(ctx.created, start, ctx.type)
    if not is_newer(order, account.get("subscription_order")):
        return Outcome(
            "processed",
            account_id,
            customer,
            note="older than the last snapshot applied: state unchanged",
        )
    status = account_status(sub.get("status"))
    notes = []
    if status == "trialing" and plan.trial_credits:
        trial_end = ts(sub.get("trial_end")) or end
        if trial_end is None or trial_end > ctx.now:
            granted = await grant_credits(
                ctx.session,
                ctx.repos,
                account_id,
                plan.trial_credits,
                "trial",
                ctx.now,
                expires_at=trial_end,
                source=f"stripe:subscription:{sub['id']}",
                idempotency_key=f"trial:{sub['id']}",
                actor="stripe",
                description=f"{plan.name} trial",
                grant_fields={"period_end": trial_end},
            )
            notes.append("trial credits granted" if granted else "trial already granted")
    old = ctx.catalog.plan(account.get("plan") or "")
    current_end = (
        as_utc(account["current_period_end"]) if account.get("current_period_end") else None
    )
    if (
        old is not None
        and account.get("stripe_subscription_id") == sub["id"]
        and status in ("active", "past_due")
        and not starts_next_period(current_end, start)
    ):
        notes.append(
            await _credit_upgrade(
                ctx,
                account_id,
                (old, account.get("plan_quantity") or 1),
                (plan, quantity),
                start,
                end,
            )
        )
    if (
        status == "past_due"
        and account.get("last_paid_at") is not None
        and as_utc(account["last_paid_at"]) >= ctx.created
    ):
        status = account["subscription_status"]  # a payment since then settled it
    fields = {
        "subscription_status": status,
        "plan": plan.key,
        "plan_quantity": quantity,
        "current_period_start": start,
        "current_period_end": end,
        "cancel_at": _cancel_at(sub, end),
        "trial_end": ts(sub.get("trial_end")),
        "stripe_subscription_id": sub["id"],
        "subscription_order": order,
    }
    if status != "past_due":
        fields.update(grace_until=None, first_failure_at=None)
    await ctx.repos.accounts.set_fields(ctx.session, account_id, fields, ctx.now)
    return Outcome("processed", account_id, customer, note="; ".join(n for n in notes if n))


async def _credit_upgrade(
    ctx: EventContext, account_id: str, old: tuple[Plan, int], new: tuple[Plan, int], start, end
) -> str | None:
    """More credits a month (a better plan, more seats): per `upgrade_credits`, as a grant
    expiring with the current period (with the current month, for monthly credits)."""
    (old_plan, old_seats), (new_plan, new_seats) = old, new
    policy = ctx.catalog.billing
    if start is not None and end is not None:
        start, end, months = _credited_span(new_plan, start, end, ctx.created)
    else:
        months = 1
    before, after = old_plan.credits_for(old_seats, months), new_plan.credits_for(new_seats, months)
    credits = upgrade_credits(policy, before, after, ctx.created, start, end)
    if credits <= 0:
        return None if after <= before else "upgrade: no credits"
    sub_id = ctx.obj["id"]
    seats = old_plan.credits_per == "seat" or new_plan.credits_per == "seat"
    change = (
        f"{old_plan.key}x{old_seats}:{new_plan.key}x{new_seats}"
        if seats
        else f"{old_plan.key}:{new_plan.key}"
    )
    key = f"upgrade:{sub_id}:{change}:{int(start.timestamp()) if start else 0}"
    granted = await grant_credits(
        ctx.session,
        ctx.repos,
        account_id,
        credits,
        "subscription",
        ctx.now,
        expires_at=period_grant_expiry(policy, end) if end else None,
        source=f"stripe:subscription:{sub_id}",
        idempotency_key=key,
        actor="stripe",
        description=f"upgrade {old_plan.name} x{old_seats} -> {new_plan.name} x{new_seats} "
        f"({policy.upgrade_credits})",
        grant_fields={"period_start": start, "period_end": end, "subscription_id": sub_id},
    )
    return f"upgrade credits {credits}" if granted else "upgrade already credited"


def _credited_span(plan: Plan, start, end, at):
    """The span an upgrade's credits are for, and its months: the month under way when a
    longer period's credits come monthly, else the whole period."""
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
    current = account.get("stripe_subscription_id")
    if current is not None and current != sub["id"]:
        return Outcome(
            "processed",
            account_id,
            customer,
            note=f"not the account's current subscription ({current})",
        )
    start, _ = subscription_period(sub)
    order = snapshot_order(ctx.created, start, ctx.type)
    last = account.get("subscription_order")
    # Cancellation is final, whatever order it arrives in.
    for grant in await ctx.repos.grants.by_kinds(ctx.session, account_id, PERIOD_KINDS):
        await expire_grant(ctx.session, ctx.repos, grant, ctx.now, reason="subscription canceled")
    await ctx.repos.accounts.set_fields(
        ctx.session,
        account_id,
        {
            "subscription_status": "canceled",
            "cancel_at": None,
            "grace_until": None,
            "first_failure_at": None,
            "stripe_subscription_id": sub["id"],
            "canceled_subscriptions": with_canceled(account, sub["id"]),
            "allocation": None,
            "subscription_order": order if is_newer(order, last) else last,
        },
        ctx.now,
    )
    return Outcome("processed", account_id, customer)


def _cancel_at(sub: dict, period_end):
    if sub.get("cancel_at"):
        return ts(sub["cancel_at"])
    if sub.get("cancel_at_period_end"):
        return period_end
    return None
