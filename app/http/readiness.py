"""A start that waits for its database: the process serves at once, and its API answers 503
`database_unavailable` until MongoDB has answered and every index and one-time migration is in
place; the preparation retries in the background until then."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from pymongo.errors import PyMongoError
from starlette.types import ASGIApp, Receive, Scope, Send

from app.kit.errors import unavailable_response

log = logging.getLogger("app.readiness")

# Paths that need the database: the API and the Stripe webhook (Stripe retries a 503).
GATED_PREFIXES = ("/v1/", "/webhooks/")
# Between attempts: the first retries are quick (a replica set electing its primary), then at
# most every 30 s (an index that cannot be built is logged, not hammered).
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0

Step = tuple[str, Callable[[], Awaitable[object]]]
# What each step's failure leaves missing, as /readyz and the 503s say it.
MISSING = {
    "database": "MongoDB does not answer",
    "indexes": "the indexes are not created yet",
    "migrations": "a one-time data migration has not run yet",
}


class Readiness:
    """What the service still misses before it may serve its API (empty: ready)."""

    def __init__(self) -> None:
        self.missing: list[str] = ["database"]
        self.reason = MISSING["database"]
        self.first_attempt = asyncio.Event()  # set once the first try has ended, either way
        self.became_ready = asyncio.Event()

    @property
    def ready(self) -> bool:
        return not self.missing

    async def prepare(self, steps: Sequence[Step]) -> None:
        """Run each step in order until all succeed; a step whose database call fails is tried
        again (and the steps after it), never those done already. Steps are idempotent."""
        delay = FIRST_RETRY_SECONDS
        done = 0
        while done < len(steps):
            name, step = steps[done]
            try:
                await step()
            except PyMongoError as exc:
                # Callers are told what is missing; the log has pymongo's account of why.
                self.missing, self.reason = [name], MISSING[name]
                message = " ".join(str(exc).split())[:500]  # hosts and states, no credentials
                log.warning(
                    "not ready: %s (%s: %s); next attempt in %.0f s",
                    self.reason,
                    exc.__class__.__name__,
                    message,
                    delay,
                )
                self.first_attempt.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
                continue
            except Exception:
                # No retry mends it (an index whose options changed): said now, not at shutdown.
                log.exception("start-up stopped at %s", name)
                raise
            done += 1
        self.missing, self.reason = [], "ready"
        self.first_attempt.set()
        self.became_ready.set()
        log.info("ready: MongoDB answers, every index and migration is in place")


class WaitForDatabase:
    """ASGI middleware: until ready, a call that needs the database is answered 503."""

    def __init__(self, app: ASGIApp, readiness: Readiness) -> None:
        self.app = app
        self.readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and not self.readiness.ready
            and scope["path"].startswith(GATED_PREFIXES)
        ):
            response = unavailable_response(f"not ready: {self.readiness.reason}")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
