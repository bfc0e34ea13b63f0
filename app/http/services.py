"""Everything create_app builds once at start-up, in one typed object: routes and pages get
their parts through app/http/deps.py, never by reaching into an untyped `app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from starlette.applications import Starlette

if TYPE_CHECKING:  # types only: this module is imported by the modules it names
    from app.accounts.directory import Directory
    from app.accounts.timeline.service import Timeline
    from app.billing.catalog import Catalog
    from app.console.session import SessionSigner
    from app.http.auth import Authenticator
    from app.http.readiness import Readiness
    from app.http.throttle import FailureThrottle
    from app.jobs.notices import NoticeSweep
    from app.jobs.retention import RetentionSweep
    from app.kit.clock import Clock
    from app.kit.config import Settings
    from app.kit.metrics import Metrics, MetricsAccess
    from app.ledger.operations import Ledger
    from app.ledger.repository import Repositories
    from app.outbox.dispatcher import Dispatcher
    from app.outbox.endpoint_service import EndpointService
    from app.outbox.service import EventService
    from app.storage.database import Database
    from app.stripe_events.event_log import EventLog
    from app.stripe_events.processor import WebhookProcessor
    from app.topups.job import TopupJob
    from app.topups.service import AutoTopupService


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    clock: Clock
    catalog: Catalog
    repos: Repositories
    readiness: Readiness
    metrics: Metrics
    metrics_access: MetricsAccess
    authenticator: Authenticator
    throttle: FailureThrottle
    # The API's services.
    ledger: Ledger
    directory: Directory
    timeline: Timeline
    webhooks: WebhookProcessor  # incoming Stripe events
    event_log: EventLog
    events: EventService  # outgoing events, pulled
    endpoints: EndpointService  # outgoing webhooks' endpoints
    # What runs in the background.
    dispatcher: Dispatcher
    notices: NoticeSweep
    retention: RetentionSweep
    console: SessionSigner
    topups: AutoTopupService  # auto top-up settings and top-ups
    topup_job: TopupJob | None  # buys them; None without STRIPE_API_KEY


def services_of(app: Starlette) -> Services:
    """The app's services (create_app sets them before the app serves)."""
    return cast(Services, app.state.services)
