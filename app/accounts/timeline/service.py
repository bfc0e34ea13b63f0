"""The timeline of an account: five sources merged newest first, paged by one cursor that
names a position in the merged order, so pages neither skip nor repeat an item."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from app.accounts.timeline import schemas
from app.accounts.timeline.repository import SOURCES, Position, Source, TimelineRepository
from app.kit.clock import Clock, as_utc
from app.kit.errors import invalid_field
from app.ledger.expiry import load_account
from app.ledger.repository import Repositories
from app.ledger.schemas import LedgerEntry, Reservation
from app.ledger.views import entry_view, reservation_view
from app.outbox.schemas import Event
from app.outbox.service import event_view as outgoing_view
from app.storage.documents import Doc
from app.stripe_events.event_log import event_view as stripe_view
from app.stripe_events.schemas import WebhookEvent
from app.topups.schemas import Topup
from app.topups.views import topup_view

_SEQ_RANKS = {s.rank for s in SOURCES if s.tie_field == "seq"}
# Milliseconds since 1970 (13 digits: until the year 2286), the source's rank, and its tie:
# a sequence number for the sources ordered by seq, an id for the others.
CURSOR_PATTERN = (
    r"^([0-9]{1,13})\.(?:("
    + "|".join(str(r) for r in sorted(_SEQ_RANKS))
    + r")\.([0-9]{1,15})|("
    + "|".join(str(s.rank) for s in SOURCES if s.rank not in _SEQ_RANKS)
    + r")\.([A-Za-z0-9_]{1,255}))$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def encode_cursor(position: Position) -> str:
    # Whole milliseconds (what MongoDB stores), in integers: no float rounding.
    return f"{(position.at - _EPOCH) // _MS}.{position.rank}.{position.tie}"


def decode_cursor(cursor: str) -> Position:
    """Every string CURSOR_PATTERN accepts is a position: the document says what the server
    takes, and the server takes all of it."""
    found = re.fullmatch(CURSOR_PATTERN, cursor)
    if found is None:
        raise invalid_field("query", "starting_after", "not a timeline cursor")
    millis, seq_rank, seq, id_rank, id_ = found.groups()
    if seq_rank is not None:
        return Position(_EPOCH + int(millis) * _MS, int(seq_rank), int(seq))
    return Position(_EPOCH + int(millis) * _MS, int(id_rank), id_)


def _entry(entry: LedgerEntry) -> str:
    said = f"{entry.type} {entry.amount:+d}, balance {entry.balance_after}"
    return said + (f": {entry.description}" if entry.description else "")


def _hold(hold: Reservation) -> str:
    said = f"hold of {hold.amount} {hold.status}"
    return said + (f", {hold.captured} captured" if hold.status == "captured" else "")


def _received(event: WebhookEvent) -> str:
    return f"Stripe {event.type} {event.status}" + (f": {event.error}" if event.error else "")


def _topup(topup: Topup) -> str:
    said = f"auto top-up {topup.status}"
    said += f": {topup.pack} x{topup.quantity}" if topup.pack else ""
    return said + (f" ({topup.reason})" if topup.reason else "")


def _sent(event: Event) -> str:
    return f"sent {event.type}"


# Each source's kind: how its documents are shown, and the line that sums one up.
_SHOWN: dict[str, tuple[Callable[[Doc], BaseModel], Callable[[Any], str]]] = {
    "ledger_entry": (entry_view, _entry),
    "reservation": (reservation_view, _hold),
    "stripe_event": (stripe_view, _received),
    "topup": (topup_view, _topup),
    "event": (outgoing_view, _sent),
}


def _item(source: Source, doc: Doc) -> tuple[Position, schemas.TimelineItem]:
    at = as_utc(doc[source.time_field])
    show, sum_up = _SHOWN[source.kind]
    view = show(doc)
    summary = sum_up(view)
    item = schemas.TimelineItem(
        kind=source.kind,
        id=str(doc["_id"]),
        at=at,
        summary=summary,
        data=view.model_dump(mode="json"),
    )
    return Position(at, source.rank, doc.get(source.tie_field, 0)), item


@dataclass(eq=False)
class Timeline:
    repos: Repositories
    store: TimelineRepository
    clock: Clock

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
