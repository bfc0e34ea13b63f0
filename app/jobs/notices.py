"""The notice sweep: what becomes true with time alone (a grant about to expire, a grace period
that ended, a Stripe event failed or parked too long), each noticed once; and retention."""

from __future__ import annotations

import logging
from dataclasses import InitVar, dataclass, field
from datetime import timedelta
from functools import partial

from pymongo.errors import DuplicateKeyError

from app.jobs.isolation import isolated
from app.kit.clock import Clock
from app.kit.config import Settings
from app.kit.metrics import Metrics
from app.ledger.views import grant_view
from app.outbox.delivery_repository import DeliveryRepository
from app.outbox.recorder import EventRecorder
from app.outbox.repository import OutboxRepository
from app.storage.database import Database
from app.stripe_events.event_log import event_view as stripe_event_view

log = logging.getLogger("app.events.notices")


@dataclass(eq=False)
class NoticeSweep:
    db: Database
    events: OutboxRepository
    deliveries: DeliveryRepository
    recorder: EventRecorder
    clock: Clock
    settings: InitVar[Settings]
    metrics: Metrics | None = None
    notice: timedelta = field(init=False)
    parked: timedelta = field(init=False)
    retention: timedelta = field(init=False)

    def __post_init__(self, settings: Settings) -> None:
        self.notice = timedelta(days=settings.expiry_notice_days)
        self.parked = timedelta(minutes=settings.parked_alert_minutes)
        self.retention = timedelta(days=settings.event_retention_days)

    async def run(self, limit: int = 500) -> int:
        """One pass; returns how many events it wrote. Each notice is its own transaction,
        isolated: one that fails is logged, counted and skipped, and the pass goes on."""
        written = await self._expiring(limit)
        written += await self._grace_ended(limit)
        written += await self._stripe_events(limit)
        cutoff = self.clock.now() - self.retention
        await isolated(self.metrics, "purge", "outgoing events", lambda: self.events.purge(cutoff))
        await isolated(self.metrics, "purge", "deliveries", lambda: self.deliveries.purge(cutoff))
        return written

    async def _expiring(self, limit: int) -> int:
        now = self.clock.now()
        written = 0
        for grant in await self.events.grants_expiring(now, now + self.notice, limit):

            async def unit(session, grant=grant):
                if not await self.events.mark_expiry_noticed(session, grant["_id"], now):
                    return 0  # another instance noticed it first
                view = grant_view(grant).model_dump(mode="json")
                await self.recorder.record(
                    session,
                    grant["account_id"],
                    [
                        (
                            "credits.expiring",
                            {
                                "grant": view,
                                "expires_at": view["expires_at"],
                                "remaining": view["remaining"],
                            },
                        )
                    ],
                )
                return 1

            written += await self._once(f"expiry notice of grant {grant['_id']}", unit)
        return written

    async def _grace_ended(self, limit: int) -> int:
        """Every past-due account whose grace ended and that was not told yet, a batch of
        `limit` at a time (those told stay past due until Stripe's dunning ends)."""
        written = 0
        async for batch in self.events.grace_ended(self.clock.now(), limit):
            ids = [doc["_id"] for doc in batch]
            streams = await self.events.streams_of(ids)
            for account_id in ids:
                if streams.get(account_id, {}).get("access_reason") == "past_due":
                    continue  # already told
                written += await self._once(
                    f"grace of account {account_id}",
                    partial(self._reassess, account_id=account_id),
                )
        return written

    async def _reassess(self, session, account_id: str) -> int:
        await self.recorder.reassess_access(session, account_id)
        return 1

    async def _stripe_events(self, limit: int) -> int:
        now = self.clock.now()
        written = 0
        for event in await self.events.stripe_events_to_alert(now - self.parked, limit):

            async def unit(session, event=event):
                if not await self.events.mark_stripe_alerted(session, event, now):
                    return 0
                await self.recorder.record(
                    session,
                    event.get("account_id"),
                    [
                        (
                            "stripe_event.failed",
                            {"stripe_event": stripe_event_view(event).model_dump(mode="json")},
                        )
                    ],
                )
                return 1

            written += await self._once(f"alert of Stripe event {event['_id']}", unit)
        return written

    async def _once(self, subject: str, unit) -> int:
        async def step() -> int:
            try:
                return await self.db.transaction(unit)
            except DuplicateKeyError:  # two instances created the same stream at once
                return 0

        return await isolated(self.metrics, "notices", subject, step) or 0
