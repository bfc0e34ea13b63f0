"""Reading the webhook event log for operators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.kit.errors import EventNotFound
from app.kit.paging import page_of
from app.storage.documents import Doc
from app.stripe_events import schemas
from app.stripe_events.payloads import ts
from app.stripe_events.repository import EventLogQuery, EventRepository, stored_type


def event_view(doc: Doc) -> schemas.WebhookEvent:
    """A stored event as the API shows it. Events stored before their payload was checked may
    hold anything: what cannot be shown is shown empty and named in `error`, so one bad
    event never breaks the listing."""
    unreadable: list[str] = []

    def field(name: str, kind: type, default: Any = None) -> Any:
        value = doc.get(name)
        if value is None:
            return default
        if isinstance(value, kind) and not isinstance(value, bool):
            return value
        unreadable.append(name)
        return default

    raw_created = doc.get("created")
    created = ts(raw_created)
    if raw_created is not None and created is None:
        unreadable.append("created")
    view = dict(
        id=str(doc["_id"]),
        type=stored_type(doc),
        created=created,
        api_version=field("api_version", str),
        account_id=field("account_id", str),
        customer_id=field("customer_id", str),
        status=field("status", str, "received"),
        note=field("note", str),
        attempts=field("attempts", int, 0),
        received_at=field("received_at", datetime),
        processed_at=field("processed_at", datetime),
    )
    error = field("error", str)
    if unreadable:
        error = "; ".join(
            filter(None, (error, "stored event has unreadable fields: " + ", ".join(unreadable)))
        )
    return schemas.WebhookEvent(**view, error=error)


class EventLog:
    def __init__(self, events: EventRepository) -> None:
        self.events = events

    async def get(self, event_id: str) -> schemas.WebhookEvent:
        doc = await self.events.get(None, event_id)
        if doc is None:
            raise EventNotFound(f"no webhook event {event_id!r}")
        return event_view(doc)

    async def needing_attention(
        self, account_id: str, limit: int = 20
    ) -> list[schemas.WebhookEvent]:
        return [event_view(d) for d in await self.events.needing_attention(account_id, limit)]

    async def page(self, query: EventLogQuery) -> schemas.WebhookEventPage:
        docs = await self.events.page(query)
        return page_of(schemas.WebhookEventPage, docs, query.limit, event_view)
