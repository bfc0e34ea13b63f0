"""What the service forgets, and when: Stripe events after STRIPE_EVENT_RETENTION_DAYS, the
stored answers of idempotency keys after IDEMPOTENCY_ANSWER_RETENTION_DAYS (the keys stay), and
console sessions once they have ended."""

from __future__ import annotations

import logging
from dataclasses import InitVar, dataclass, field
from datetime import timedelta

from app.console.session import SessionRepository
from app.jobs.isolation import isolated
from app.kit.clock import Clock
from app.kit.config import Settings
from app.kit.metrics import Metrics
from app.ledger.repository import IdempotencyRepository
from app.stripe_events.repository import EventRepository

log = logging.getLogger("app.retention")


@dataclass(frozen=True)
class Forgotten:
    stripe_events: int
    idempotency_answers: int
    console_sessions: int = 0


@dataclass(eq=False)
class RetentionSweep:
    """Run by the periodic sweep. A sweep rather than TTL indexes: a TTL index can only delete
    whole documents (an idempotency key must outlive its answer), runs on the server's clock
    (not the injectable one), and changing its period needs collMod on every deployment."""

    events: EventRepository
    idempotency: IdempotencyRepository
    clock: Clock
    settings: InitVar[Settings]
    sessions: SessionRepository
    metrics: Metrics | None = None
    event_days: timedelta = field(init=False)
    answer_days: timedelta = field(init=False)

    def __post_init__(self, settings: Settings) -> None:
        self.event_days = timedelta(days=settings.stripe_event_retention_days)
        self.answer_days = timedelta(days=settings.idempotency_answer_retention_days)

    async def run(self) -> Forgotten:
        """Each kind forgotten in bounded batches, isolated: a failure is logged and counted,
        and the other kinds are still forgotten."""
        now = self.clock.now()
        events = await isolated(
            self.metrics,
            "retention",
            "Stripe events",
            lambda: self.events.purge(now - self.event_days),
        )
        answers = await isolated(
            self.metrics,
            "retention",
            "idempotency answers",
            lambda: self.idempotency.drop_answers(now - self.answer_days, now),
        )
        sessions = await isolated(
            self.metrics, "retention", "console sessions", lambda: self.sessions.purge(now)
        )
        forgotten = Forgotten(events or 0, answers or 0, sessions or 0)
        if forgotten.stripe_events or forgotten.idempotency_answers:
            log.info(
                "retention: forgot %d Stripe events and %d idempotency answers",
                forgotten.stripe_events,
                forgotten.idempotency_answers,
            )
        return forgotten
