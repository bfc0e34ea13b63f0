"""Balance alerts: when `available` crosses the low-balance threshold or zero, fired once and
re-armed only when it comes back to the threshold (no storm around the line)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.billing.catalog import Catalog
from app.outbox.schemas import ThresholdSource

Draft = tuple[str, dict]  # (type, data) of an event to write


@dataclass(frozen=True)
class AlertState:
    low_fired: bool = False
    depleted_fired: bool = False

    @classmethod
    def of(cls, account: Mapping[str, Any]) -> AlertState:
        """As the account document holds it (missing fields: not fired)."""
        return cls(bool(account.get("low_fired")), bool(account.get("depleted_fired")))

    def fields(self) -> dict:
        return {"low_fired": self.low_fired, "depleted_fired": self.depleted_fired}


def effective_threshold(
    account: Mapping[str, Any], catalog: Catalog, default: int | None
) -> tuple[int | None, ThresholdSource]:
    """The account's threshold and where it comes from: the account, its plan, the default.
    Read from the account document (fields missing on older accounts mean: none set)."""
    if account.get("low_balance_threshold_set"):
        value = account.get("low_balance_threshold")
        return value, "account" if value is not None else "off"
    plan_key = account.get("plan")
    plan = catalog.plan(plan_key) if plan_key else None
    if plan is not None and plan.low_balance_threshold is not None:
        return plan.low_balance_threshold, "plan"
    return default, "default" if default is not None else "off"


def crossings(
    before: int, after: int, threshold: int | None, state: AlertState
) -> tuple[list[Draft], AlertState]:
    """The alerts a move of `available` from `before` to `after` fires, and the state after."""
    drafts: list[Draft] = []
    low, depleted = state.low_fired, state.depleted_fired
    if after < before:
        if threshold is not None and not low and after < threshold:
            drafts.append(("balance.low", {"available": after, "threshold": threshold}))
            low = True
        if not depleted and after <= 0:
            drafts.append(("balance.depleted", {"available": after}))
            depleted = True
    # With no threshold, a depleted account has recovered once it has credits again.
    elif (
        after > before
        and (low or depleted)
        and after >= (threshold if threshold is not None else 1)
    ):
        drafts.append(("balance.recovered", {"available": after, "threshold": threshold}))
        low = depleted = False
    return drafts, AlertState(low, depleted)


def rearmed(available: int, threshold: int | None, state: AlertState) -> AlertState:
    """After a threshold change: an account already at or above the new line is armed again."""
    if available >= (threshold if threshold is not None else 1):
        return AlertState()
    return state
