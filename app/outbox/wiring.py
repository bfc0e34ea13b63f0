"""Outgoing events wired into an app: the outbox listener on every unit of work, the pull API,
endpoints, the notice sweep, the dispatcher and its metrics, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from app.billing.catalog import Catalog
from app.jobs.notices import NoticeSweep
from app.kit.clock import Clock
from app.kit.config import Settings
from app.kit.metrics import Metrics
from app.ledger.repository import Repositories
from app.outbox.delivery_repository import DeliveryRepository, EndpointRepository
from app.outbox.dispatcher import Dispatcher
from app.outbox.endpoint_service import EndpointService
from app.outbox.recorder import EventRecorder
from app.outbox.repository import OutboxRepository
from app.outbox.service import EventService
from app.outbox.urls import UrlPolicy
from app.storage.database import Database

OLDEST_UNDELIVERED = "credit_ledger_events_oldest_undelivered_seconds"


@dataclass(frozen=True)
class Outgoing:
    """The outgoing side's services, built once for an app."""

    events: EventService
    notices: NoticeSweep
    endpoints: EndpointService
    dispatcher: Dispatcher


def wire_events(
    settings: Settings,
    database: Database,
    repos: Repositories,
    catalog: Catalog,
    clock: Clock,
    metrics: Metrics,
) -> Outgoing:
    store = OutboxRepository(database)
    endpoints = EndpointRepository(database)
    deliveries = DeliveryRepository(database)
    recorder = EventRecorder(store, repos, catalog, clock, settings.low_balance_threshold)
    # One recorder per database: of two apps over one database (tests), the newest records.
    database.listeners[:] = [x for x in database.listeners if not isinstance(x, EventRecorder)]
    database.listeners.append(recorder)
    policy = UrlPolicy(
        production=settings.app_env == "production",
        allow_private=settings.outgoing_webhooks_allow_private,
    )
    outgoing = Outgoing(
        events=EventService(database, store, repos, catalog, clock, settings.low_balance_threshold),
        notices=NoticeSweep(database, store, deliveries, recorder, clock, settings, metrics),
        endpoints=EndpointService(
            endpoints, deliveries, policy, clock, database, settings.max_webhook_endpoints
        ),
        dispatcher=Dispatcher(store, endpoints, deliveries, policy, clock, metrics),
    )

    async def oldest_undelivered() -> dict[str, float]:
        times = []
        if (event := await store.oldest_undispatched()) is not None:
            times.append(event["created_at"])
        if (delivery := await deliveries.oldest_pending()) is not None:
            times.append(delivery["event_created_at"])
        now = clock.now()
        age = max((now - t.astimezone(now.tzinfo)).total_seconds() for t in times) if times else 0.0
        return {OLDEST_UNDELIVERED: max(age, 0.0)}

    metrics.collectors.append(oldest_undelivered)
    return outgoing
