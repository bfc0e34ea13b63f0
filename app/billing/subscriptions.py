"""Subscription rules that need no database: status mapping, snapshot order, grant expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.billing.catalog import BillingPolicy

STATUSES = {"trialing", "active", "past_due", "unpaid", "paused", "canceled", "incomplete"}


def account_status(stripe_status: object) -> str:
    """Stripe's subscription status as the account shows it."""
    if stripe_status == "incomplete_expired":
        return "canceled"
    return stripe_status if stripe_status in STATUSES else "incomplete"


# Stripe sends a subscription's `created` (often `incomplete`) and its first `updated`
# within one second: on a tie, creation is the older snapshot.
_CREATED = "customer.subscription.created"


def snapshot_order(
    event_created: datetime, period_start: datetime | None, event_type: str = ""
) -> list[int]:
    """Snapshots apply in the order of the event's `created`, then the subscription's period,
    then creation before any other change."""
    return [
        int(event_created.timestamp()),
        int(period_start.timestamp()) if period_start else 0,
        0 if event_type == _CREATED else 1,
    ]


def is_newer(candidate: list[int], last: list[int] | None) -> bool:
    return last is None or candidate >= list(last)


def period_grant_expiry(policy: BillingPolicy, period_end: datetime) -> datetime:
    """A period's credits stay usable for the grace days after it ends (payment may retry)."""
    return period_end + timedelta(days=policy.grace_days)
