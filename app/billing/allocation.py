"""Yearly (or any multi-month) prices with monthly credits: the paid invoice grants the first
month, and the sweep grants each later month of the paid period on its day, exactly once."""

from __future__ import annotations

import calendar
import logging
from datetime import datetime, timedelta
from functools import partial

from app.billing.catalog import Catalog
from app.billing.repository import AllocationRepository
from app.billing.standing import save_subscription, subscriptions_of
from app.billing.subscriptions import period_grant_expiry
from app.billing.units import Learned, credit_unit
from app.jobs.isolation import isolated
from app.kit.clock import as_utc
from app.kit.metrics import Metrics
from app.ledger.access import suspended_reason
from app.ledger.documents import AccountDoc
from app.ledger.expiry import expire_due
from app.ledger.periods import close_period
from app.ledger.repository import Repositories
from app.storage.database import Session
from app.storage.documents import Doc

log = logging.getLogger("app.billing.allocation")

_AVERAGE_MONTH = timedelta(days=365.2425 / 12)
GOOD_STANDING = ("active", "past_due", "trialing")


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later, clamped to the month's last day (Jan 31 + 1 month
    is Feb 28 or 29), as Stripe anchors monthly periods."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def months_in(start: datetime, end: datetime) -> int:
    """Whole months a billing period spans (12 for a year); a month or less counts as one."""
    return max(1, round((end - start) / _AVERAGE_MONTH))


def month_bounds(start: datetime, end: datetime) -> list[datetime]:
    """The starts of the period's months, then its end: month n is [bounds[n], bounds[n+1])."""
    months = months_in(start, end)
    return [add_months(start, n) for n in range(months)] + [end]


def allocation_key(subscription: str, period_start: datetime, month: int) -> str:
    return f"allocation:{subscription}:{int(period_start.timestamp())}:{month}"


def schedule(subscription: str, invoice: str, start: datetime, end: datetime) -> Doc | None:
    """What a subscription keeps so the sweep can grant months 1.. of a paid period."""
    bounds = month_bounds(start, end)
    if len(bounds) <= 2:
        return None
    return {
        "subscription_id": subscription,
        "invoice_id": invoice,
        "period_start": start,
        "period_end": end,
        "next_month": 1,
        "next_at": bounds[1],
    }


async def grant_due_months(
    session: Session,
    repos: Repositories,
    schedules: AllocationRepository,
    catalog: Catalog,
    account_id: str,
    now: datetime,
) -> int:
    """Grant the months of the account's paid periods that have begun by `now`, for each of
    its subscriptions; returns how many were granted. Months of a canceled, unpaid, paused or
    disputed subscription, of a period replaced by another (an interval change), and months
    whose credits would already have expired, are skipped: never granted later."""
    account = await repos.accounts.get(session, account_id)
    if account is None:
        return 0
    states = subscriptions_of(account)
    if "subscriptions" not in account and states:
        # Written before subscriptions were kept one by one: in the new shape first.
        for sub_id in states:
            await save_subscription(session, repos, account_id, states, sub_id, now)
    granted = 0
    moved = False
    for sub_id, state in states.items():
        paid = state.get("allocation")  # the schedule of the paid period
        if not isinstance(paid, dict) or as_utc(paid["next_at"]) > now:
            continue
        start, end = as_utc(paid["period_start"]), as_utc(paid["period_end"])
        bounds = month_bounds(start, end)
        first = paid["next_month"]
        last = first
        while last < len(bounds) - 1 and bounds[last] <= now:
            last += 1
        # The guarded move of the schedule is the write that can be refused: a second sweep
        # racing this one finds it moved and grants nothing.
        next_at = bounds[last] if last < len(bounds) - 1 else None
        if not await schedules.advance(session, account_id, sub_id, paid, last, next_at):
            continue
        moved = True
        state["allocation"] = {**paid, "next_month": last, "next_at": next_at} if next_at else None
        await expire_due(session, repos, account_id, now)
        for month in range(first, last):
            credits = await _grant_month(
                session, repos, catalog, account, state, bounds, month, now
            )
            if credits:
                await schedules.add_invoice_credits(session, paid["invoice_id"], credits)
                granted += 1
    if moved:
        due = [as_utc(s["allocation"]["next_at"]) for s in states.values() if s.get("allocation")]
        await schedules.set_next(session, account_id, min(due) if due else None)
    return granted


async def _grant_month(
    session: Session,
    repos: Repositories,
    catalog: Catalog,
    account: AccountDoc,
    state: Doc,
    bounds: list[datetime],
    month: int,
    now: datetime,
) -> int:
    """Month `month`'s credits, if the subscription still stands in that period; returns what
    was granted."""
    subscription = state["id"]
    plan = catalog.plan(state.get("plan") or "")
    begins, ends = bounds[month], bounds[month + 1]
    expires_at = period_grant_expiry(catalog.billing, ends)
    period = state.get("period_start")
    if (
        plan is None
        or state.get("ended")
        or state.get("status") not in GOOD_STANDING
        or (period is not None and as_utc(period) != bounds[0])
        # Its own standing (past due beyond its grace), and the account's (a dispute).
        or suspended_reason({**account, **_standing_of(state)}, begins) is not None
        or expires_at <= now
    ):
        log.info("account %s: month %d of %s not granted", account["_id"], month, subscription)
        return 0
    source = f"stripe:subscription:{subscription}"
    key = allocation_key(subscription, bounds[0], month)
    await close_period(
        session,
        repos,
        account["_id"],
        before=begins,
        period_end=ends,
        carry_policy=plan.rollover,
        expires_at=expires_at,
        now=now,
        source=source,
        key=f"rollover:{key}",
        subscription_id=subscription,
        period_start=begins,
    )
    return await credit_unit(
        session,
        repos,
        catalog,
        account["_id"],
        state,
        Learned(
            subscription,
            begins,
            ends,
            plan,
            plan.credits_for(state.get("quantity") or 1),
            begins,
            paid=True,
            first_key=key,
            period_start=bounds[0],
        ),
        now=now,
        source=source,
        description=f"{plan.name}: credits for month {month + 1} of {len(bounds) - 1}",
    )


def _standing_of(state: Doc) -> Doc:
    return {"subscription_status": state.get("status"), "grace_until": state.get("grace_until")}


async def sweep_allocations(
    repos: Repositories,
    catalog: Catalog,
    now: datetime,
    limit: int = 500,
    *,
    metrics: Metrics | None = None,
) -> int:
    """Grant the due months of up to `limit` accounts, each in its own transaction, isolated
    (a failure is logged, counted and skipped); returns the months granted."""
    schedules = AllocationRepository(repos.db)
    granted = 0
    for account_id in await schedules.due(now, limit):
        months = await isolated(
            metrics,
            "allocation",
            f"account {account_id}",
            partial(
                repos.db.transaction,
                partial(
                    grant_due_months,
                    repos=repos,
                    schedules=schedules,
                    catalog=catalog,
                    account_id=account_id,
                    now=now,
                ),
            ),
        )
        granted += months or 0
    return granted
