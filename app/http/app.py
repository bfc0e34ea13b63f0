"""create_app(): settings, lifespan (connect, ensure indexes, sweep), routers, error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import stripe
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import __version__
from app.accounts.directory import Directory
from app.accounts.repository import ReadRepository
from app.accounts.timeline.repository import TimelineRepository
from app.accounts.timeline.service import Timeline
from app.billing.catalog import Catalog, CatalogError, load_catalog
from app.console.pages import install_console
from app.console.session import SessionRepository, SessionSigner
from app.http.access_log import AccessLog
from app.http.apidoc import install_openapi
from app.http.apidoc.pages import install_docs
from app.http.auth import AuthenticateApi, Authenticator
from app.http.body_limit import BodyLimit
from app.http.readiness import Readiness, WaitForDatabase
from app.http.request_id import RequestId
from app.http.routes import install_routes
from app.http.services import Services
from app.http.throttle import FailureThrottle
from app.jobs.loop import sweep_forever
from app.jobs.retention import RetentionSweep
from app.kit.clock import Clock
from app.kit.config import Settings, SettingsError, load_settings
from app.kit.errors import install_error_handlers
from app.kit.logs import configure_logging
from app.kit.metrics import Metrics, MetricsAccess
from app.ledger.group_commit import GroupCommit
from app.ledger.operations import Ledger
from app.ledger.repository import Repositories
from app.outbox.wiring import wire_events
from app.storage.database import Database, connect
from app.storage.migrations.alert_state import move_alert_state
from app.storage.migrations.numbering import number_legacy_ledgers
from app.stripe_events.context import WebhookStores
from app.stripe_events.event_log import EventLog
from app.stripe_events.processor import WebhookProcessor
from app.stripe_events.repository import CustomerRepository, EventRepository, PaymentRepository
from app.stripe_events.stripe_api import StripeLookup, key_livemode
from app.topups.wiring import wire_topups

log = logging.getLogger("app")

LOOKUP_TIMEOUT_SECONDS = 10
# The longest a start waits for the database's first answer before serving (503s meanwhile).
START_WAIT_SECONDS = 5


def stripe_client_for(settings: Settings) -> stripe.StripeClient | None:
    """Stripe's API with STRIPE_API_KEY (None without it), built once at start-up."""
    if not settings.stripe_api_key:
        return None
    # Look-ups run before an event's transaction, top-ups outside any: each call bounded.
    return stripe.StripeClient(
        settings.stripe_api_key,
        max_network_retries=1,
        http_client=stripe.HTTPXClient(timeout=LOOKUP_TIMEOUT_SECONDS, allow_sync_methods=True),
    )


def build_processor(
    settings: Settings,
    database: Database,
    catalog: Catalog,
    clock: Clock,
    metrics: Metrics | None = None,
    repos: Repositories | None = None,
    stripe_client: stripe.StripeClient | None = None,
) -> WebhookProcessor:
    """The webhook processor and the stores it writes to: the app's, and the backfill's
    (`python -m app stripe backfill`), wired in this one place. With STRIPE_API_KEY, payments
    the service never saw linked to an invoice are looked up in Stripe's API."""
    repos = repos or Repositories(database)
    stripe_client = stripe_client or stripe_client_for(settings)
    lookup = StripeLookup(stripe_client) if stripe_client is not None else None
    stores = WebhookStores(repos, CustomerRepository(database), PaymentRepository(database), lookup)
    return WebhookProcessor(
        database,
        stores,
        EventRepository(database),
        catalog,
        clock,
        settings.webhook_secrets,
        metrics or Metrics(),
        livemode=key_livemode(settings.stripe_api_key),
    )


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
    sweeper: bool = True,
    stripe_client: stripe.StripeClient | None = None,
) -> FastAPI:
    settings = settings or load_settings()
    settings.check()
    # A bad catalog stops the start with a message naming the file and the field.
    catalog = catalog or load_catalog(settings.plans_file)
    clock = clock or Clock()
    # A test passes its own database; otherwise connect to MONGODB_URI or the embedded engine.
    database = db or connect(settings.mongodb_uri, settings.mongodb_db)
    if database.engine is not None and (
        settings.embedded_round_trip_ms or settings.embedded_commit_ms
    ):
        _simulate_latency(database, settings)

    async def migrate() -> None:
        # Once per database: ledgers written before entries carried seq get numbered.
        await number_legacy_ledgers(services.repos, clock.now(), metrics=services.metrics)
        # Once per database: alert state kept on event_streams moves to the accounts.
        await move_alert_state(database, clock.now())

    background: list[asyncio.Task[None]] = []

    async def prepare_then_work() -> None:
        # Indexes before the first write; the sweep and the dispatcher once they exist.
        await services.readiness.prepare(
            [
                ("database", database.ping),
                ("indexes", database.ensure_indexes),
                ("migrations", migrate),
            ]
        )
        if sweeper:
            background.append(
                asyncio.create_task(
                    sweep_forever(
                        services.repos,
                        services.notices,
                        services.retention,
                        catalog,
                        clock,
                        services.metrics,
                    )
                )
            )
            services.dispatcher.start()
            if services.topup_job is not None:
                services.topup_job.start()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if db is None and database.embedded:
            from app.storage.embedded import freeze_after_full_collections  # dev only

            freeze_after_full_collections()  # this process holds the embedded database
        preparing = asyncio.create_task(prepare_then_work())
        background.append(preparing)
        # Serve once the first attempt has ended: ready when the database answers at once,
        # otherwise 503s while the attempts go on in the background. An error no retry can
        # mend (an index whose options changed) stops the start.
        attempted = asyncio.create_task(services.readiness.first_attempt.wait())
        await asyncio.wait(
            {preparing, attempted}, timeout=START_WAIT_SECONDS, return_when="FIRST_COMPLETED"
        )
        attempted.cancel()
        if preparing.done() and preparing.exception() is not None:
            await preparing
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # A delivery in flight finishes or goes back for another instance.
            await services.dispatcher.stop()
            if services.topup_job is not None:
                await services.topup_job.stop()
            if db is None:
                await database.close()

    app = FastAPI(
        title="Credit Ledger",
        version=__version__,
        summary="Stripe webhooks in; a credit ledger, subscription state and access decisions out.",
        lifespan=lifespan,
        docs_url=None,  # served from the package's assets by install_docs, never a CDN
        redoc_url=None,
    )
    repos = Repositories(database)
    readiness = Readiness()
    metrics = Metrics()
    group = GroupCommit(repos, settings.max_held_reservations, metrics)
    # Contention shows on either engine: every re-run of a unit of work, by its error label.
    database.rerun_listeners.append(
        lambda label: metrics.inc("credit_ledger_transaction_retries_total", label=label)
    )
    stripe_client = stripe_client or stripe_client_for(settings)
    webhooks = build_processor(settings, database, catalog, clock, metrics, repos, stripe_client)
    sessions = SessionRepository(database)
    outgoing = wire_events(settings, database, repos, catalog, clock, metrics)
    topups = wire_topups(database, repos, catalog, clock, metrics, stripe_client)
    services = Services(
        settings=settings,
        db=database,
        clock=clock,
        catalog=catalog,
        repos=repos,
        readiness=readiness,
        metrics=metrics,
        metrics_access=MetricsAccess(settings.metrics_token, settings.metrics_networks),
        authenticator=Authenticator(settings),
        throttle=FailureThrottle(metrics, clock, settings.auth_failure_burst),
        ledger=Ledger(
            repos,
            clock,
            max_held=settings.max_held_reservations,
            group=group if settings.group_commit else None,
            catalog=catalog,
        ),
        directory=Directory(repos, ReadRepository(database), clock),
        timeline=Timeline(repos, TimelineRepository(database), clock),
        webhooks=webhooks,
        event_log=EventLog(webhooks.events),
        events=outgoing.events,
        endpoints=outgoing.endpoints,
        dispatcher=outgoing.dispatcher,
        notices=outgoing.notices,
        retention=RetentionSweep(
            webhooks.events, repos.idempotency, clock, settings, sessions, metrics
        ),
        console=SessionSigner(settings, sessions, clock),
        topups=topups.service,
        topup_job=topups.job,
    )
    app.state.services = services
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    # The last added runs first: authenticate from the headers, answer 503 while the
    # database is not ready, then read the body.
    app.add_middleware(BodyLimit)
    app.add_middleware(WaitForDatabase, readiness=readiness)
    app.add_middleware(
        AuthenticateApi, authenticator=services.authenticator, throttle=services.throttle
    )
    if settings.cors_origin_list:
        # Outside authentication: preflights are answered before it, and every answer (a 401
        # included) carries the headers a browser needs to read it. Bearer tokens, no cookies.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origin_list),
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Idempotent-Replayed", "X-Request-Id"],
            max_age=600,
        )
    app.add_middleware(AccessLog)  # it times the whole request
    app.add_middleware(RequestId)  # outermost: every answer and log line carries the id
    install_routes(app)
    install_console(app)
    return app


def _simulate_latency(database: Database, settings: Settings) -> None:
    """Benchmarks only: the embedded engine waits as a replica set would answer."""
    from app.storage.embedded.latency import Latency  # dev only: the engine is embedded

    latency = Latency(settings.embedded_round_trip_ms / 1000, settings.embedded_commit_ms / 1000)
    database.engine.latency = latency
    log.warning(
        "embedded engine: %s (EMBEDDED_ROUND_TRIP_MS, EMBEDDED_COMMIT_MS)", latency.describe()
    )


def _app_from_environment() -> FastAPI:
    configure_logging()
    try:
        settings = load_settings()
        configure_logging(settings.app_env == "production")  # APP_ENV may be in .env only
        return create_app(settings)
    except (SettingsError, CatalogError) as exc:
        # A clear line, not a traceback: the message names the setting or catalog field.
        log.error("cannot start: %s", exc)
        raise SystemExit(2) from None


# `uvicorn app.http.app:app` builds the app from the environment; tests call create_app().
def __getattr__(name: str) -> FastAPI:
    if name == "app":
        application = _app_from_environment()
        globals()["app"] = application
        return application
    raise AttributeError(name)
