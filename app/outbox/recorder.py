"""The outbox listener: at the end of every unit of work, inside its transaction, turns what the
ledger noted into events (types, threshold crossings, access changes), numbered per account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from app.billing.catalog import Catalog
from app.kit.clock import Clock
from app.ledger.access import available, suspended_reason
from app.ledger.outbox import Fact
from app.ledger.repository import Repositories
from app.ledger.views import account_view, entry_view, grant_view, reservation_view
from app.outbox.repository import OutboxRepository
from app.outbox.thresholds import AlertState, Draft, crossings, effective_threshold
from app.storage.database import Session

# A change of any of these is a `subscription.updated`; the event shows all of SHOWN.
WATCHED = ("subscription_status", "plan", "current_period_end", "cancel_at")
SHOWN = (*WATCHED, "current_period_start", "grace_until", "stripe_subscription_id")


class SubscriptionFields(BaseModel):
    subscription_status: str | None = None
    plan: str | None = None
    current_period_end: datetime | None = None
    cancel_at: datetime | None = None
    current_period_start: datetime | None = None
    grace_until: datetime | None = None
    stripe_subscription_id: str | None = None


@dataclass(eq=False)
class EventRecorder:
    events: OutboxRepository
    repos: Repositories
    catalog: Catalog
    clock: Clock
    default_threshold: int | None

    async def __call__(self, session: Session, facts: list[Any]) -> None:
        by_account: dict[str, list[Fact]] = {}
        for fact in facts:
            if isinstance(fact, Fact):
                by_account.setdefault(fact.account_id, []).append(fact)
        now = self.clock.now()
        for account_id, noted in by_account.items():
            await self._account_unit(session, account_id, noted, now)

    async def _account_unit(
        self, session: Session, account_id: str, noted: list[Fact], now: datetime
    ) -> None:
        drafts: list[Draft] = []
        for fact in noted:
            if fact.kind == "entry":
                drafts += await self._entry_events(session, fact.doc)
            elif fact.kind == "reservation":
                drafts.append(
                    ("reservation.expired", {"reservation": _json(reservation_view(fact.doc))})
                )
            elif fact.kind == "event":
                drafts.append((fact.doc["type"], fact.doc["data"]))
        states = [f for f in noted if f.kind in ("balance", "account")]
        if not states:
            await self._write(session, account_id, drafts, {}, now)
            return
        account = states[-1].doc  # the account as the unit of work leaves it
        view = {"account": _json(account_view(account, now))}
        moves = [f for f in noted if f.kind == "balance"]
        if moves:
            # One evaluation per unit of work: a renewal that expires and grants is no alert.
            # Threshold and alert state are on the account, which the guarded write returned:
            # a move that crosses nothing reads and writes nothing more.
            threshold, _ = effective_threshold(account, self.catalog, self.default_threshold)
            was = AlertState.of(moves[0].account_before)
            alerts, after = crossings(
                available(moves[0].account_before), available(moves[-1].doc), threshold, was
            )
            drafts += [(type_, {**view, **data}) for type_, data in alerts]
            if after != was:
                # Same transaction as the guarded write: no new conflict on the account.
                await self.events.set_alert_state(session, account_id, after.fields())
        state: dict[str, Any] = {}
        changes = [f for f in noted if f.kind == "account"]
        if changes:
            before = SubscriptionFields(**{k: changes[0].account_before.get(k) for k in SHOWN})
            after_fields = SubscriptionFields(**{k: changes[-1].doc.get(k) for k in SHOWN})
            if any(getattr(before, k) != getattr(after_fields, k) for k in WATCHED):
                drafts.append(
                    (
                        "subscription.updated",
                        {**view, "before": _json(before), "after": _json(after_fields)},
                    )
                )
            # The reason access was last suspended is on the stream: read only here.
            stream = await self.events.stream(session, account_id)
            drafts += access_change(stream, account, now, view, state)
            state = _changed(stream, state)
        await self._write(session, account_id, drafts, state, now)

    async def reassess_access(self, session: Session, account_id: str) -> None:
        """The access decision can change with time alone (grace ends): the sweep asks."""
        now = self.clock.now()
        account = await self.repos.accounts.get(session, account_id)
        if account is None:
            return
        stream = await self.events.stream(session, account_id)
        state: dict[str, Any] = {}
        drafts = access_change(
            stream, account, now, {"account": _json(account_view(account, now))}, state
        )
        if drafts:
            await self._write(session, account_id, drafts, state, now)

    async def record(
        self,
        session: Session,
        account_id: str | None,
        drafts: list[Draft],
        state: dict | None = None,
    ) -> list[dict]:
        """Write events decided outside a ledger unit of work (the notice sweep)."""
        return await self.events.append(session, account_id, drafts, state or {}, self.clock.now())

    async def _write(
        self, session: Session, account_id: str, drafts: list[Draft], state: dict, now: datetime
    ) -> None:
        if drafts or state:
            await self.events.append(session, account_id, drafts, state, now)

    async def _entry_events(self, session: Session, entry: dict) -> list[Draft]:
        if entry["type"] == "expiry" and entry["amount"] < 0:
            return [("credits.expired", {"entry": _json(entry_view(entry))})]
        if entry["amount"] > 0 and entry["type"] in ("grant", "adjustment"):
            # The grant is written in the same unit of work, before or after its entry.
            grant_id = entry["grants"][0]["grant_id"]
            grant = await self.repos.grants.get(session, entry["account_id"], grant_id)
            if grant is not None:
                return [
                    (
                        "credits.granted",
                        {"entry": _json(entry_view(entry)), "grant": _json(grant_view(grant))},
                    )
                ]
        return []


def access_change(
    stream: dict, account: Mapping[str, Any], now: datetime, view: dict, state: dict
) -> list[Draft]:
    """`access.suspended` / `access.restored` when the decision for a cost of 1 flips for a
    reason other than the balance; `state` gets the reason to remember."""
    reason = suspended_reason(account, now)
    was = stream.get("access_reason")
    if reason == was:
        return []
    state["access_reason"] = reason
    if was is None:
        return [("access.suspended", {**view, "reason": reason})]
    if reason is None:
        return [("access.restored", {**view, "reason": was})]
    return []  # still suspended, for another reason


def _changed(stream: dict, state: dict) -> dict:
    """What of `state` the stream does not hold yet: a unit of work that fires no event and
    changes no access reason writes nothing to the stream."""
    return {k: v for k, v in state.items() if stream.get(k) != v}


def _json(model: BaseModel) -> dict:
    return model.model_dump(mode="json")
