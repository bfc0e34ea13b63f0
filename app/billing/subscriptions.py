"""Subscription rules that need no database: status mapping, snapshot order, upgrade credits."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.billing.catalog import BillingPolicy

STATUSES = {"trialing", "active", "past_due", "unpaid", "paused", "canceled", "incomplete"}


def account_status(stripe_status: object) -> str:
    """Stripe's subscription status as the account shows it."""
    if stripe_status == "incomplete_expired":
        return "canceled"
    return stripe_status if stripe_status in STATUSES else "incomplete"


def has_ended(account: dict, subscription_id: str | None) -> bool:
    """Whether this subscription of the account was canceled: its late invoices never revive
    it. Another subscription of the same account (a resubscription) is not ended by it."""
    return subscription_id is not None and subscription_id in (
        account.get("canceled_subscriptions") or []
    )


def with_canceled(account: dict, subscription_id: str) -> list[str]:
    """The account's canceled subscriptions, this one included."""
    canceled = list(account.get("canceled_subscriptions") or [])
    return canceled if subscription_id in canceled else [*canceled, subscription_id]


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


def starts_next_period(current_period_end: datetime | None, period_start: datetime | None) -> bool:
    """Whether a snapshot's period follows the account's current one (a renewal): a plan
    change that takes effect then is paid by the renewal invoice, at the new plan."""
    return (
        current_period_end is not None
        and period_start is not None
        and period_start >= current_period_end
    )


def upgrade_credits(
    policy: BillingPolicy,
    old_credits: int,
    new_credits: int,
    at: datetime,
    period_start: datetime | None,
    period_end: datetime | None,
) -> int:
    """Credits granted at once for a move to more credits a period (a better plan, more
    seats): the difference, prorated over what is left of the period, per the policy."""
    difference = new_credits - old_credits
    if difference <= 0 or policy.upgrade_credits == "none":
        return 0
    if policy.upgrade_credits == "full":
        return difference
    if period_start is None or period_end is None or period_end <= period_start:
        return difference
    total = int((period_end - period_start).total_seconds())
    left = min(max(int((period_end - at).total_seconds()), 0), total)
    return difference * left // total


def period_grant_expiry(policy: BillingPolicy, period_end: datetime) -> datetime:
    """A period's credits stay usable for the grace days after it ends (payment may retry)."""
    return period_end + timedelta(days=policy.grace_days)
