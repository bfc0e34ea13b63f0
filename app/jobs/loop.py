"""The sweep loop: every SWEEP_INTERVAL_SECONDS, one pass of each background job (expiry,
monthly allocations, notices, retention), each isolated from the others."""

from __future__ import annotations

import asyncio
from datetime import datetime

from app.billing.allocation import sweep_allocations
from app.billing.catalog import Catalog
from app.jobs.isolation import isolated
from app.jobs.notices import NoticeSweep
from app.jobs.retention import RetentionSweep
from app.kit.clock import Clock
from app.kit.metrics import Metrics
from app.ledger.expiry import sweep
from app.ledger.repository import Repositories

SWEEP_INTERVAL_SECONDS = 60


async def sweep_once(
    repos: Repositories, catalog: Catalog, now: datetime, metrics: Metrics | None = None
) -> None:
    """Expire what is due on accounts nobody touches, then grant the months of yearly plans
    that have begun (after the expiry, so a month's rollover sees the last one's expiry)."""
    await sweep(repos, now, metrics=metrics)
    await sweep_allocations(repos, catalog, now, metrics=metrics)


async def run_jobs(
    repos: Repositories,
    notices: NoticeSweep,
    retention: RetentionSweep,
    catalog: Catalog,
    now: datetime,
    metrics: Metrics,
) -> None:
    """One pass of every background job, each isolated from the others (and each isolates
    its accounts and batches): a failure is logged and counted, and the rest still run."""
    await isolated(metrics, "expiry", "the pass", lambda: sweep(repos, now, metrics=metrics))
    await isolated(
        metrics,
        "allocation",
        "the pass",
        lambda: sweep_allocations(repos, catalog, now, metrics=metrics),
    )
    await isolated(metrics, "notices", "the pass", notices.run)
    await isolated(metrics, "retention", "the pass", retention.run)


async def sweep_forever(
    repos: Repositories,
    notices: NoticeSweep,
    retention: RetentionSweep,
    catalog: Catalog,
    clock: Clock,
    metrics: Metrics,
) -> None:
    """Every job, once a SWEEP_INTERVAL_SECONDS, for as long as the app runs."""
    while True:
        await asyncio.sleep(SWEEP_INTERVAL_SECONDS)
        await run_jobs(repos, notices, retention, catalog, clock.now(), metrics)
