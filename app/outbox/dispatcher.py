"""The dispatcher: fans committed events out to the endpoints that want them and delivers each,
signed as Standard Webhooks sign, at least once, with backoff, under a lease (several service
instances may run it at once), and stops gracefully."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from bson import ObjectId
from standardwebhooks.webhooks import Webhook

from app.jobs.leased import Backoff, LeasedJob
from app.kit.clock import Clock, as_utc
from app.kit.errors import ValidationFailed
from app.kit.metrics import Metrics
from app.outbox.delivery_repository import DeliveryRepository, EndpointRepository
from app.outbox.endpoint_service import live_secrets
from app.outbox.repository import OutboxRepository
from app.outbox.service import event_view
from app.outbox.urls import Target, UrlPolicy

log = logging.getLogger("app.events.dispatcher")
# httpx logs every request's URL at INFO; a receiver's URL may carry its own token.
logging.getLogger("httpx").setLevel(logging.WARNING)

# About 5 s, 1 min, 10 min, 1 h, 6 h, then every 12 h, for 3 days (seconds after attempt n).
SCHEDULE = (5, 60, 600, 3600, 21600)
EVERY_AFTER = 43200
JITTER = 0.2  # each delay is drawn within +-20%
BACKOFF = Backoff(SCHEDULE, EVERY_AFTER, JITTER)
GIVE_UP_AFTER = timedelta(days=3)
DISABLE_AFTER = timedelta(days=5)
TIMEOUT_SECONDS = 10.0
LEASE = timedelta(seconds=60)  # well past the timeout: a live sender finishes first
BODY_KEPT = 1024
DELIVERIES_TOTAL = "credit_ledger_webhook_deliveries_total"


def wall_clock() -> datetime:
    return datetime.now(UTC)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings httpx would make for each client (certifi's CA bundle, no proxy or
    certificate variables from the environment), made once: reading the bundle costs tens of
    milliseconds, and every app a process builds (each test builds one) has a dispatcher."""
    return httpx.create_ssl_context(trust_env=False)


class Dispatcher(LeasedJob):
    def __init__(
        self,
        events: OutboxRepository,
        endpoints: EndpointRepository,
        deliveries: DeliveryRepository,
        policy: UrlPolicy,
        clock: Clock,
        metrics: Metrics,
        *,
        draw: Callable[[], float] = random.random,
        wall: Callable[[], datetime] = wall_clock,
        workers: int = 4,
        timeout: float = TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__("dispatcher", clock, LEASE, log, "webhook dispatch failed; retrying")
        self.events = events
        self.endpoints = endpoints
        self.deliveries = deliveries
        self.policy = policy
        self.metrics = metrics
        self.draw = draw
        # The signature's timestamp is when the receiver gets it: the real time, not the
        # service clock (which tests move), or the receiver's tolerance check would refuse it.
        self.wall = wall
        self.workers = workers
        self.timeout = timeout
        self.client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            verify=tls_context(),
            transport=transport,
        )

    # One pass: what tests call after moving the clock.

    async def run_once(self) -> int:
        """Fan out new events, then send every delivery due now; returns how many were tried."""
        await self.fan_out()
        # A task group: when one worker fails, the others are cancelled (their deliveries go
        # back, due at once) before the error leaves, so no worker outlives its pass.
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._worker()) for _ in range(self.workers)]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return sum(task.result() for task in tasks)

    async def fan_out(self, limit: int = 200) -> int:
        made = 0
        # Batches until the backlog is gone: a backlog left for later passes costs each of them
        # a scan of the whole collection on the embedded engine, while requests wait.
        while events := await self.events.undispatched(limit):
            endpoints = await self.endpoints.enabled()
            for event in events:
                wanted = [endpoint for endpoint in endpoints if _wants(endpoint, event)]
                for endpoint in wanted:
                    made += await self.deliveries.insert(_delivery(event, endpoint))
                if wanted:
                    await asyncio.sleep(0)  # requests go between events (embedded engine)
            # One call for the batch: a crash before it fans the batch out again, and the
            # deliveries' unique (event, endpoint) key keeps each delivery once.
            await self.events.mark_dispatched([event["_id"] for event in events])
            if len(events) < limit:
                break
        return made

    async def _worker(self) -> int:
        tried = 0
        while (delivery := await self._claim(self.deliveries.claim)) is not None:
            try:
                await self._attempt(delivery)
            except asyncio.CancelledError:
                # Shutdown: the delivery goes back, due at once, for any instance to send.
                await self.deliveries.release(delivery["_id"], self.owner, self.clock.now())
                raise
            tried += 1
        return tried

    async def _attempt(self, delivery: dict) -> None:
        endpoint = await self.endpoints.get(delivery["endpoint_id"])
        event = await self.events.get(delivery["event_id"], delivery["account_id"])
        if endpoint is None or endpoint["disabled"] or event is None:
            why = (
                "endpoint deleted"
                if endpoint is None
                else "event no longer kept"
                if event is None
                else "endpoint disabled"
            )
            await self.deliveries.finish(
                delivery["_id"],
                self.owner,
                {"status": "failed", "next_attempt_at": None, "note": why},
                None,
            )
            self.metrics.inc(DELIVERIES_TOTAL, outcome="failed")
            return
        body = json.dumps(event_view(event).model_dump(mode="json"), separators=(",", ":"))
        started = time.monotonic()
        status, text, error = await self._send(endpoint, event["_id"], body)
        now = self.clock.now()
        attempt = {
            "at": now,
            "status_code": status,
            "body": text,
            "error": error,
            "duration_ms": int((time.monotonic() - started) * 1000),
        }
        if status is not None and 200 <= status < 300:
            await self.deliveries.finish(
                delivery["_id"],
                self.owner,
                {
                    "status": "succeeded",
                    "next_attempt_at": None,
                    "first_attempt_at": delivery.get("first_attempt_at") or now,
                },
                attempt,
            )
            await self.endpoints.mark_succeeding(endpoint["_id"])
            self.metrics.inc(DELIVERIES_TOTAL, outcome="succeeded")
            return
        await self._failed(delivery, endpoint, attempt, now)

    async def _failed(self, delivery: dict, endpoint: dict, attempt: dict, now: datetime) -> None:
        first = as_utc(delivery.get("first_attempt_at") or now)
        following = now + BACKOFF.after(delivery.get("attempts", 0) + 1, self.draw)
        gives_up = following > first + GIVE_UP_AFTER
        await self.deliveries.finish(
            delivery["_id"],
            self.owner,
            {
                "status": "failed" if gives_up else "pending",
                "next_attempt_at": None if gives_up else following,
                "first_attempt_at": first,
            },
            attempt,
        )
        self.metrics.inc(DELIVERIES_TOTAL, outcome="failed" if gives_up else "retrying")
        marked = await self.endpoints.mark_failing(endpoint["_id"], now)
        since = marked.get("failing_since") if marked else None
        if since is not None and now - as_utc(since) >= DISABLE_AFTER:
            await self.endpoints.update(
                endpoint["_id"],
                {"disabled": True, "disabled_reason": "every delivery failed for 5 days"},
                now,
            )
            log.warning("webhook endpoint %s disabled: failing for 5 days", endpoint["_id"])

    async def _send(
        self, endpoint: dict, event_id: str, body: str
    ) -> tuple[int | None, str | None, str | None]:
        """POST once: (status, first 1 KiB of the answer, error). Never raises but for
        cancellation: whatever fails is a failed attempt, counted and retried. The error names
        what failed, never a secret (nor the URL, which may carry the receiver's token)."""
        try:
            # Again at each attempt: DNS may have changed. In production the address checked
            # is the one connected to, so a name that answers differently later gains nothing.
            target = await self.policy.target(endpoint["url"])
        except ValidationFailed as refused:
            return None, None, refused.detail
        at = self.wall()
        signatures = " ".join(
            Webhook(secret).sign(event_id, at, body)
            for secret in live_secrets(endpoint, self.clock.now())
        )
        headers = {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signatures,
            "user-agent": "credit-ledger-webhooks",
        }
        try:
            return await asyncio.wait_for(self._post(target, body, headers), self.timeout)
        except TimeoutError:
            return None, None, f"no answer within {self.timeout:g} s"
        except httpx.HTTPError as exc:
            return None, None, f"{type(exc).__name__}: could not deliver"
        except Exception as exc:  # noqa: BLE001 - any failure is a failed attempt, not a jam
            log.warning("webhook delivery to %s failed: %s", endpoint["_id"], type(exc).__name__)
            return None, None, f"{type(exc).__name__}: could not deliver"

    async def _post(self, target: Target, body: str, headers: dict) -> tuple[int, str, None]:
        url, extensions = target.url, {}
        if target.address is not None:
            # Connect to the checked address; the Host header and TLS (SNI and certificate
            # verification) still use the name.
            headers = {**headers, "host": _host_header(url)}
            extensions = {"sni_hostname": url.raw_host.decode("ascii")}
            url = url.copy_with(host=target.address)
        async with self.client.stream(
            "POST", url, content=body.encode(), headers=headers, extensions=extensions
        ) as response:
            kept = bytearray()
            async for chunk in response.aiter_bytes():
                kept += chunk
                if len(kept) >= BODY_KEPT:
                    break
            return response.status_code, kept[:BODY_KEPT].decode("utf-8", "replace"), None

    # In the service: a loop, stopped gracefully at shutdown.

    def start(self, interval: float = 1.0) -> None:
        super().start(interval)

    async def stop(self, grace: float = TIMEOUT_SECONDS + 2) -> None:
        """Claim nothing more; a delivery in flight finishes within `grace` seconds, or is
        cancelled and released for another instance."""
        await super().stop(grace)
        await self.client.aclose()


def _host_header(url: httpx.URL) -> str:
    host = url.raw_host.decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    return host if url.port is None else f"{host}:{url.port}"


def _wants(endpoint: dict, event: dict) -> bool:
    types = endpoint.get("event_types")
    # An endpoint gets the events created from its registration on.
    return (types is None or event["type"] in types) and as_utc(endpoint["created_at"]) <= as_utc(
        event["created_at"]
    )


def _delivery(event: dict, endpoint: dict) -> dict:
    return {
        "_id": f"whd_{ObjectId()}",
        "event_id": event["_id"],
        "endpoint_id": endpoint["_id"],
        "event_type": event["type"],
        "account_id": event.get("account_id"),
        "event_created_at": event["created_at"],
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": event["created_at"],
        "first_attempt_at": None,
        "lease_owner": None,
        "log": [],
        "created_at": event["created_at"],
    }
