"""Crediting a subscription's units: each event that learns something about a unit (it was
paid, a plan or seat count was in force from some time) records it, recomputes the unit's
entitlement, and grants only what exceeds the most already granted for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from app.billing.catalog import Catalog, Plan
from app.billing.entitlement import Unit, stored_share, unix, with_point
from app.billing.repository import SubscriptionRepository
from app.billing.subscriptions import period_grant_expiry
from app.kit.clock import as_utc
from app.ledger.entries import Attribution
from app.ledger.grants import NewGrant, grant_credits
from app.ledger.repository import Repositories
from app.storage.database import Session

State = dict[str, Any]
# Units a subscription remembers (Tiger Style: a bound on the account document); news of a
# unit older than all of them changes nothing.
MAX_UNITS = 26


def unit_key(start: datetime) -> str:
    return f"t{unix(start)}"


@dataclass(frozen=True)
class Learned:
    """What an event tells of one unit of a subscription."""

    subscription_id: str
    start: datetime
    end: datetime
    plan: Plan
    credits: int  # of the plan x seats in force from `at`, for the whole unit
    at: datetime
    paid: bool = False  # the unit is paid for (an invoice, or the sweep of a paid year)
    share: Fraction | None = None  # the part of a full period billed, when paid
    first_key: str | None = None  # the idempotency key of the unit's first grant
    period_start: datetime | None = None  # of the period the unit is a month of, if it is


async def credit_unit(
    session: Session,
    repos: Repositories,
    catalog: Catalog,
    account_id: str,
    state: State,
    learned: Learned,
    *,
    now: datetime,
    source: str,
    description: str,
) -> int:
    """Record what was learned of the unit in `state` (the subscription's, changed in place)
    and on the account, and grant what its entitlement now exceeds the most granted for it.
    Returns the credits granted now."""
    units = state.setdefault("units", {})
    key = unit_key(learned.start)
    if (
        key not in units
        and len(units) >= MAX_UNITS
        and all(as_utc(u["start"]) > learned.start for u in units.values())
    ):
        return 0  # older than every unit remembered: settled long ago
    old = units.get(key) or {}
    granted = int(old.get("granted") or 0)
    at = min(max(learned.at, learned.start), learned.end)
    unit: dict[str, Any] = {
        "start": learned.start,
        "end": learned.end,
        "period_start": learned.period_start or learned.start,
        "plan": learned.plan.key,
        "points": [list(p) for p in with_point(_points(old), unix(at), learned.credits)],
        "paid": bool(old.get("paid")) or learned.paid,
        "share": _share(old, learned),
        "granted": granted,
    }
    worth = 0
    if unit["paid"]:
        share = stored_share(unit["share"])
        points = [(int(t), int(c)) for t, c in unit["points"]]
        worth = Unit(learned.start, learned.end, points, share).worth(
            catalog.billing.upgrade_credits
        )
    credits = worth - granted
    if credits > 0:
        unit["granted"] = worth
    await SubscriptionRepository(repos.db).save_unit(
        session, account_id, learned.subscription_id, key, unit, granted_before=granted
    )
    units[key] = unit
    await _forget_old_units(session, repos, account_id, learned.subscription_id, units)
    if credits <= 0:
        return 0
    first = granted == 0 and learned.first_key is not None
    ledger_key = learned.first_key if first else f"upgrade:{learned.subscription_id}:{key}:{worth}"
    await grant_credits(
        session,
        repos,
        NewGrant(
            account_id,
            credits,
            "subscription",
            expires_at=period_grant_expiry(catalog.billing, learned.end),
            by=Attribution(
                source,
                ledger_key,
                "stripe",
                description if first else f"{learned.plan.name}: more credits for the period",
            ),
            grant_fields={
                "period_start": learned.start,
                "period_end": learned.end,
                "subscription_id": learned.subscription_id,
            },
        ),
        now,
    )
    return credits


def newest_paid_unit(state: State) -> State | None:
    """The subscription's paid unit of the latest period (its latest month, for monthly
    credits), or None."""
    paid = [u for u in (state.get("units") or {}).values() if isinstance(u, dict) and u.get("paid")]
    return max(paid, key=lambda u: as_utc(u["start"]), default=None)


def _points(unit: State) -> list[tuple[int, int]]:
    return [(int(t), int(c)) for t, c in unit.get("points") or []]


def _share(old: State, learned: Learned) -> list[int]:
    if learned.paid and learned.share is not None:
        return [learned.share.numerator, learned.share.denominator]
    kept = old.get("share")
    return kept if isinstance(kept, list) else [1, 1]


async def _forget_old_units(
    session: Session, repos: Repositories, account_id: str, subscription_id: str, units: State
) -> None:
    if len(units) <= MAX_UNITS:
        return
    oldest = sorted(units, key=lambda k: as_utc(units[k]["start"]))[: len(units) - MAX_UNITS]
    await SubscriptionRepository(repos.db).forget_units(
        session, account_id, subscription_id, oldest
    )
    for key in oldest:
        units.pop(key)
