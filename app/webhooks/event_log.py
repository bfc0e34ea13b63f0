"""Reading the webhook event log for operators."""

from __future__ import annotations

from app.errors import EventNotFound
from app.webhooks import schemas
from app.webhooks.payloads import ts
from app.webhooks.repository import Doc, EventRepository


def event_view(doc: Doc) -> schemas.WebhookEvent:
    return schemas.WebhookEvent(
        id=doc["_id"], type=doc.get("type") or "", created=ts(doc.get("created")),
        api_version=doc.get("api_version"), account_id=doc.get("account_id"),
        customer_id=doc.get("customer_id"), status=doc["status"], error=doc.get("error"),
        note=doc.get("note"), attempts=doc.get("attempts", 0), received_at=doc["received_at"],
        processed_at=doc.get("processed_at"),
    )


class EventLog:
    def __init__(self, events: EventRepository) -> None:
        self.events = events

    async def get(self, event_id: str) -> schemas.WebhookEvent:
        doc = await self.events.get(None, event_id)
        if doc is None:
            raise EventNotFound(f"no webhook event {event_id!r}")
        return event_view(doc)

    async def page(self, *, limit: int, starting_after: str | None, status: str | None,
                   type_: str | None) -> schemas.WebhookEventPage:
        docs = await self.events.page(limit=limit, starting_after=starting_after,
                                      status=status, type_=type_)
        has_more = len(docs) > limit
        docs = docs[:limit]
        return schemas.WebhookEventPage(data=[event_view(d) for d in docs], has_more=has_more,
                                        next_cursor=docs[-1]["_id"] if has_more else None)
