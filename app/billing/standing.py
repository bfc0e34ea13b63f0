"""An account's subscriptions, each with its own state, and the one standing the account shows
and decides access by, derived from all of them in the same write."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.kit.clock import as_utc
from app.ledger.repository import Repositories
from app.storage.database import Session

State = dict[str, Any]

# Which subscription speaks for the account: access is allowed while any subscription allows
# it, so the one that allows most is shown. Canceled comes last: the account shows canceled
# only when every subscription is.
RANK = {
    "active": 0,
    "trialing": 1,
    "past_due": 2,
    "incomplete": 3,
    "paused": 4,
    "unpaid": 5,
    "canceled": 6,
}
# The account fields the standing sets, from the subscription that speaks for it.
SHOWN = {
    "subscription_status": "status",
    "plan": "plan",
    "current_period_start": "period_start",
    "current_period_end": "period_end",
    "cancel_at": "cancel_at",
    "grace_until": "grace_until",
    "stripe_subscription_id": "id",
}
# Stripe's ids are letters, digits and underscores: safe as a field name of the map.
_SUBSCRIPTION_ID = re.compile(r"^[A-Za-z0-9_]{1,255}$")


def usable_id(subscription_id: str) -> bool:
    return bool(_SUBSCRIPTION_ID.match(subscription_id))


def subscriptions_of(account: Mapping[str, Any]) -> dict[str, State]:
    """The account's subscription states; an account written before they were kept per
    subscription gets one, from its own fields."""
    kept = account.get("subscriptions")
    if isinstance(kept, dict):
        return {k: dict(v) for k, v in kept.items() if isinstance(v, dict)}
    sub_id = account.get("stripe_subscription_id")
    if not sub_id or account.get("subscription_status") in (None, "none"):
        return {}  # linked by a checkout, nothing more known of it
    canceled = sub_id in (account.get("canceled_subscriptions") or [])
    return {
        sub_id: {
            "id": sub_id,
            "status": "canceled" if canceled else account.get("subscription_status"),
            "ended": canceled,
            "plan": account.get("plan"),
            "quantity": account.get("plan_quantity") or 1,
            "period_start": account.get("current_period_start"),
            "period_end": account.get("current_period_end"),
            "cancel_at": account.get("cancel_at"),
            "trial_end": account.get("trial_end"),
            "grace_until": account.get("grace_until"),
            "first_failure_at": account.get("first_failure_at"),
            "last_paid_at": account.get("last_paid_at"),
            "order": account.get("subscription_order"),
            "allocation": _old_schedule(account, sub_id),
            "units": {},
        }
    }


def _old_schedule(account: Mapping[str, Any], sub_id: str) -> dict | None:
    schedule = account.get("allocation")
    if isinstance(schedule, dict) and schedule.get("subscription_id") == sub_id:
        return schedule
    return None


def _speaks_first(state: State) -> tuple:
    grace = state.get("grace_until")
    end = state.get("period_end")
    order = state.get("order") or [0]
    return (
        RANK.get(state.get("status") or "", len(RANK)),
        # Among the past due, the one with the longest grace; then the latest period.
        -(as_utc(grace).timestamp() if isinstance(grace, datetime) else 0),
        -(as_utc(end).timestamp() if isinstance(end, datetime) else 0),
        -(order[0] if isinstance(order[0], int) else 0),
        state.get("id") or "",
    )


def standing(subscriptions: dict[str, State]) -> dict[str, Any]:
    """The account fields derived from its subscriptions (none with a status yet, say an
    invoice of a subscription no snapshot has shown: nothing changes)."""
    known = [
        {"id": sub_id, **state} for sub_id, state in subscriptions.items() if state.get("status")
    ]
    if not known:
        return {}
    first = min(known, key=_speaks_first)
    return {field: first.get(key) for field, key in SHOWN.items()}


# Fields of a subscription's state kept on the account (its units are written on their own).
STATE_FIELDS = (
    "id",
    "status",
    "ended",
    "plan",
    "quantity",
    "period_start",
    "period_end",
    "cancel_at",
    "trial_end",
    "grace_until",
    "first_failure_at",
    "last_paid_at",
    "order",
    "pending_update",
    "latest_invoice",
    "allocation",
)


async def save_subscription(
    session: Session,
    repos: Repositories,
    account_id: str,
    subscriptions: dict[str, State],
    subscription_id: str,
    now: datetime,
) -> None:
    """Write one subscription's state and, in the same write, the account's standing derived
    from all of them, and when its next allocated month is due."""
    state = subscriptions[subscription_id]
    prefix = f"subscriptions.{subscription_id}."
    fields: dict[str, Any] = {prefix + f: state.get(f) for f in STATE_FIELDS}
    fields.update(standing(subscriptions))
    due = [
        as_utc(s["allocation"]["next_at"])
        for s in subscriptions.values()
        if isinstance(s.get("allocation"), dict) and s["allocation"].get("next_at")
    ]
    fields["allocation"] = {"next_at": min(due)} if due else None
    await repos.accounts.set_fields(session, account_id, fields, now)
