"""One account or batch of a background job, isolated: a failure is logged, counted in /metrics
and skipped, and the job goes on with the rest (one bad document never stalls a sweep)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.kit.metrics import JOB_FAILURES, Metrics

T = TypeVar("T")

log = logging.getLogger("app.jobs")


async def isolated(
    metrics: Metrics | None, job: str, subject: str, step: Callable[[], Awaitable[T]]
) -> T | None:
    """`await step()`; None when it failed (its transaction, if any, was aborted)."""
    try:
        return await step()
    except Exception:
        log.exception("%s: %s failed; skipped until the next pass", job, subject)
        if metrics is not None:
            metrics.inc(JOB_FAILURES, job=job)
        return None
