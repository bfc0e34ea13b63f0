"""Queries of the timeline: each source of an account, newest first, after a position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo import DESCENDING

from app.accounts.timeline.schemas import ItemKind
from app.storage.database import EVENTS, LEDGER, RESERVATIONS, STRIPE_EVENTS, TOPUPS, Database
from app.storage.documents import Doc


@dataclass(frozen=True)
class Source:
    kind: ItemKind
    collection: str
    time_field: str
    rank: int  # orders items of the same instant: effects above their cause
    tie_field: str = "_id"  # orders items of one source at one instant


# Newest first is (time, rank, tie) descending: an outgoing event and a ledger entry written
# at the instant a Stripe event was received list above it. Ledger entries of one instant
# keep the ledger's own order, its seq.
SOURCES = (
    Source("topup", TOPUPS, "created_at", 5),  # recorded by the move that crossed the line
    Source("event", EVENTS, "created_at", 4),
    Source("ledger_entry", LEDGER, "created_at", 3, "seq"),
    Source("reservation", RESERVATIONS, "created_at", 2),
    Source("stripe_event", STRIPE_EVENTS, "received_at", 1),
)


@dataclass(frozen=True)
class Position:
    at: datetime
    rank: int
    tie: str | int  # the item's tie_field


def _after(source: Source, position: Position | None) -> Doc:
    """Items of `source` that come after `position` in the merged order."""
    if position is None:
        return {}
    field = source.time_field
    if source.rank < position.rank:
        return {field: {"$lte": position.at}}
    if source.rank > position.rank:
        return {field: {"$lt": position.at}}
    return {
        "$or": [
            {field: {"$lt": position.at}},
            {field: position.at, source.tie_field: {"$lt": position.tie}},
        ]
    }


class TimelineRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def newest(
        self, source: Source, account_id: str, position: Position | None, limit: int
    ) -> list[Doc]:
        """Served by the (account_id, time, tie) index of each collection: sorted by the very
        fields the cursor pages by (a sort by `_id` under a cursor by `seq` skipped entries
        whose ids and seqs disagree, as concurrent commits leave them)."""
        query = {"account_id": account_id, **_after(source, position)}
        projection = {"payload": 0} if source.collection == STRIPE_EVENTS else None
        cursor = (
            self.db[source.collection]
            .find(query, projection)
            .sort([(source.time_field, DESCENDING), (source.tie_field, DESCENDING)])
            .limit(limit)
        )
        return await cursor.to_list(None)
