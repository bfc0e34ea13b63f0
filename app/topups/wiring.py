"""Auto top-up wired into an app: the crossing listener on every unit of work, the settings
service, and the job that buys, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from app.billing.catalog import Catalog
from app.kit.clock import Clock
from app.kit.metrics import Metrics
from app.ledger.repository import Repositories
from app.storage.database import Database
from app.stripe_events.repository import PaymentRepository
from app.topups.charge import StripeCharger
from app.topups.job import TopupJob
from app.topups.repository import TopupRepository
from app.topups.service import AutoTopupService
from app.topups.trigger import TopupTrigger


@dataclass(frozen=True)
class Topups:
    """Auto top-up's services, built once for an app."""

    service: AutoTopupService
    job: TopupJob | None  # None without STRIPE_API_KEY: nothing can be bought


def wire_topups(
    database: Database,
    repos: Repositories,
    catalog: Catalog,
    clock: Clock,
    metrics: Metrics,
    stripe_client: stripe.StripeClient | None,
) -> Topups:
    topups = TopupRepository(database)
    # One trigger per database: of two apps over one database (tests), the newest records.
    database.listeners[:] = [x for x in database.listeners if not isinstance(x, TopupTrigger)]
    database.listeners.append(TopupTrigger(topups, clock))
    service = AutoTopupService(
        database, repos, topups, catalog, clock, stripe_ready=stripe_client is not None
    )
    if stripe_client is None:
        return Topups(service, None)
    charger = StripeCharger(stripe_client)
    job = TopupJob(
        database, repos, topups, PaymentRepository(database), charger, catalog, clock, metrics
    )
    return Topups(service, job)
