"""The timeline of an account: four sources merged newest first, paged by one cursor that
names a position in the merged order, so pages neither skip nor repeat an item."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from app.clock import Clock, as_utc
from app.errors import ValidationFailed
from app.events.service import event_view as outgoing_view
from app.ledger.expiry import load_account
from app.ledger.repository import Doc, Repositories
from app.ledger.views import entry_view, reservation_view
from app.timeline import schemas
from app.timeline.repository import SOURCES, Position, Source, TimelineRepository
from app.webhooks.event_log import event_view as stripe_view

_RANKS = {s.rank for s in SOURCES}
_TIE_TYPES = {
    s.rank: (lambda v: isinstance(v, int) and not isinstance(v, bool))
    if s.tie_field == "seq"
    else (lambda v: isinstance(v, str))
    for s in SOURCES
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def encode_cursor(position: Position) -> str:
    # Whole milliseconds (what MongoDB stores), in integers: no float rounding.
    raw = json.dumps([(position.at - _EPOCH) // _MS, position.rank, position.tie])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        millis, rank, tie = json.loads(raw)
        if not (isinstance(millis, int) and rank in _RANKS and _TIE_TYPES[rank](tie)):
            raise ValueError
        return Position(_EPOCH + millis * _MS, rank, tie)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(
            "starting_after: not a timeline cursor",
            errors=[
                {
                    "loc": ["query", "starting_after"],
                    "msg": "not a timeline cursor",
                    "type": "value_error",
                }
            ],
        ) from None


def _item(source: Source, doc: Doc) -> tuple[Position, schemas.TimelineItem]:
    at = as_utc(doc[source.time_field])
    view: BaseModel
    if source.kind == "ledger_entry":
        entry = view = entry_view(doc)
        summary = f"{entry.type} {entry.amount:+d}, balance {entry.balance_after}"
        summary += f": {entry.description}" if entry.description else ""
    elif source.kind == "reservation":
        hold = view = reservation_view(doc)
        summary = f"hold of {hold.amount} {hold.status}"
        summary += f", {hold.captured} captured" if hold.status == "captured" else ""
    elif source.kind == "stripe_event":
        received = view = stripe_view(doc)
        summary = f"Stripe {received.type} {received.status}"
        summary += f": {received.error}" if received.error else ""
    else:
        sent = view = outgoing_view(doc)
        summary = f"sent {sent.type}"
    item = schemas.TimelineItem(
        kind=source.kind,
        id=str(doc["_id"]),
        at=at,
        summary=summary,
        data=view.model_dump(mode="json"),
    )
    return Position(at, source.rank, doc.get(source.tie_field, 0)), item


class Timeline:
    def __init__(self, repos: Repositories, store: TimelineRepository, clock: Clock) -> None:
        self.repos = repos
        self.store = store
        self.clock = clock

    async def page(
        self, account_id: str, *, starting_after: str | None, limit: int
    ) -> schemas.TimelinePage:
        position = decode_cursor(starting_after) if starting_after else None
        await load_account(self.repos, account_id, self.clock.now())
        # The next `limit` items of the merged order are among each source's next limit + 1.
        items = []
        for source in SOURCES:
            for doc in await self.store.newest(source, account_id, position, limit + 1):
                items.append(_item(source, doc))
        items.sort(key=lambda pair: (pair[0].at, pair[0].rank, pair[0].tie), reverse=True)
        has_more = len(items) > limit
        items = items[:limit]
        return schemas.TimelinePage(
            data=[item for _, item in items],
            has_more=has_more,
            next_cursor=encode_cursor(items[-1][0]) if has_more else None,
        )
