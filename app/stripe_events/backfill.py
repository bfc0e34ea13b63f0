"""Reconciling events Stripe never delivered (an endpoint disabled, an outage longer than
Stripe's three days of retries): list them from Stripe's API and apply them like deliveries.

Events listed with the secret key over TLS are authentic, so no signature applies; each is
stored once by its id (`WebhookProcessor.ingest`), so an event the webhook already brought
is a `duplicate` and changes nothing. Stripe keeps events for 30 days.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import stripe

from app.stripe_events.handlers import HANDLERS
from app.stripe_events.processor import WebhookProcessor

STATUSES = ("processed", "duplicate", "ignored", "parked", "failed")
PAGE_SIZE = 100  # Stripe's largest page
MAX_TYPES = 20  # Stripe refuses a `types` filter of more


def handled_types() -> list[str]:
    """The event types the service acts on: what a backfill lists unless told otherwise."""
    return sorted(HANDLERS)


@dataclass
class BackfillReport:
    since: datetime
    types: list[str]
    listed: int = 0  # events Stripe returned for the window and types
    counts: Counter[str] = field(default_factory=Counter)  # status -> events
    remaining: int = 0  # listed but left for a later run by `limit`
    next_since: datetime | None = None  # where that run starts (its first event's time)

    @property
    def applied(self) -> int:
        return sum(self.counts.values())


class BackfillInterrupted(Exception):
    """A transient error (the database, say) stopped the backfill at `event_id`; the events
    before it are applied, and running the backfill again resumes (they come back as
    `duplicate`, the interrupted one is applied)."""

    def __init__(self, report: BackfillReport, event_id: str, cause: BaseException) -> None:
        super().__init__(f"stopped at event {event_id}: {type(cause).__name__}: {cause}")
        self.report = report
        self.event_id = event_id


async def backfill_events(
    processor: WebhookProcessor,
    client: stripe.StripeClient,
    *,
    since: datetime,
    types: list[str] | None = None,
    limit: int | None = None,
) -> BackfillReport:
    """Apply, oldest first, the events Stripe created since `since` (at most `limit` of them:
    the oldest), of `types` (default: the types the service handles)."""
    types = sorted(set(types)) if types else handled_types()
    if len(types) > MAX_TYPES:
        raise ValueError(
            f"at most {MAX_TYPES} event types per backfill (Stripe's limit), not {len(types)}"
        )
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    report = BackfillReport(since=since, types=types)
    # stripe-python's synchronous client (its async one needs httpx or aiohttp, which the
    # service does not install), off the event loop.
    newest_first = await asyncio.to_thread(_list_events, client, since, types)
    oldest_first = newest_first[::-1]
    report.listed = len(oldest_first)
    batch = oldest_first if limit is None else oldest_first[:limit]
    if len(batch) < len(oldest_first):
        report.remaining = len(oldest_first) - len(batch)
        report.next_since = datetime.fromtimestamp(oldest_first[len(batch)]["created"], UTC)
    for event in batch:
        try:
            status = await processor.ingest(event, json.dumps(event, separators=(",", ":")))
        except Exception as exc:
            raise BackfillInterrupted(report, event["id"], exc) from exc
        report.counts[status] += 1
    return report


def _list_events(
    client: stripe.StripeClient, since: datetime, types: list[str]
) -> list[dict[str, Any]]:
    """Every event of the window, as Stripe lists them: newest first, page by page."""
    page = client.v1.events.list(
        params={"created": {"gte": int(since.timestamp())}, "limit": PAGE_SIZE, "types": types}
    )
    # for_json: stripe-python turns `*_decimal` strings into Decimals; this turns them back,
    # so the stored payload is JSON as Stripe sent it.
    return [event.to_dict(for_json=True) for event in page.auto_paging_iter()]
