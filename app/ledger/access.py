"""Whether an account may spend now, and why not: suspension, negative balance, credits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.kit.clock import as_utc
from app.kit.errors import AccessSuspended, InsufficientCredits, NegativeBalance
from app.ledger.schemas import AccessReason, SuspendedReason

REASON_TEXT = {
    "past_due": "the subscription is past due and its grace period has ended",
    "unpaid": "the subscription is unpaid",
    "paused": "the subscription is paused",
    "disputed": "a payment is disputed",
}


def suspended_reason(account: Mapping[str, Any], now: datetime) -> SuspendedReason | None:
    if account.get("open_disputes"):
        return "disputed"
    status = account.get("subscription_status")
    if status in ("unpaid", "paused"):
        return status
    grace_until = account.get("grace_until")
    if status == "past_due" and grace_until is not None and now >= as_utc(grace_until):
        return "past_due"
    return None


def available(account: Mapping[str, Any]) -> int:
    return account["balance"] - account["reserved"]


def access_reason(account: Mapping[str, Any], cost: int, now: datetime) -> AccessReason:
    """The access decision: `ok` or the first reason that refuses."""
    reason = suspended_reason(account, now)
    if reason:
        return reason
    if account["balance"] < 0:
        return "negative_balance"
    if available(account) < cost:
        return "insufficient_credits"
    return "ok"


def spend_guard(amount: int, now: datetime) -> dict:
    """`access_reason(...) == "ok"` as a filter on the account document, so that the write
    that spends is also the check (no read then write). A balance of at least `amount` above
    what is reserved also means it is not negative."""
    return {
        "$expr": {"$gte": [{"$subtract": ["$balance", "$reserved"]}, amount]},
        "open_disputes.0": {"$exists": False},
        "subscription_status": {"$nin": ["unpaid", "paused"]},
        "$nor": [{"subscription_status": "past_due", "grace_until": {"$lte": now}}],
    }


def ensure_can_spend(account: Mapping[str, Any], amount: int, now: datetime) -> None:
    """Refuse a debit or hold the way the access decision would."""
    reason = access_reason(account, amount, now)
    if reason == "ok":
        return
    if reason == "negative_balance":
        raise NegativeBalance(
            f"the balance is negative ({account['balance']})", **spending_figures(account, amount)
        )
    if reason == "insufficient_credits":
        raise InsufficientCredits(
            f"{amount} credits requested, {max(available(account), 0)} available",
            **spending_figures(account, amount),
        )
    extra = {"grace_until": _iso(account["grace_until"])} if reason == "past_due" else {}
    raise AccessSuspended(f"access suspended: {REASON_TEXT[reason]}", reason=reason, **extra)


def spending_figures(account: Mapping[str, Any], amount: int) -> dict[str, int]:
    """The numbers of a refused spend, as fields of its problem: programs read them there."""
    return {
        "requested": amount,
        "available": max(available(account), 0),
        "balance": account["balance"],
        "reserved": account["reserved"],
    }


def _iso(when: datetime) -> str:
    return as_utc(when).isoformat().replace("+00:00", "Z")
