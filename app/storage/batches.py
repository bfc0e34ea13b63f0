"""Reading a query's matches a bounded batch at a time, for background jobs: by a keyset over
(field, _id), which an index ending in those two serves, so that each batch is one index
range and a job never holds a cursor or a transaction across the whole of its work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from app.storage.documents import Doc


def after_key(field: str, doc: Doc) -> Doc:
    """What comes after `doc` in (field, _id) order."""
    return {
        "$or": [
            {field: {"$gt": doc[field]}},
            {field: doc[field], "_id": {"$gt": doc["_id"]}},
        ]
    }


async def in_batches(
    col: Any, query: Doc, field: str, size: int, projection: Doc | None = None
) -> AsyncIterator[list[Doc]]:
    """Every document matching `query`, in (field, _id) order, `size` at a time. A document
    written meanwhile is seen or not, as a scan outside a snapshot sees it."""
    last: Doc | None = None
    shown = {**(projection or {}), field: 1} if projection else None
    while True:
        bounded = query if last is None else {"$and": [query, after_key(field, last)]}
        cursor = col.find(bounded, shown).sort([(field, 1), ("_id", 1)]).limit(size)
        docs = await cursor.to_list(None)
        if docs:
            yield docs
        if len(docs) < size:
            return
        last = docs[-1]


async def delete_in_batches(col: Any, query: Doc, field: str, size: int) -> int:
    """Delete what matches `query`, oldest `field` first, `size` documents a call: each call
    is short and its replication lag small, where one delete_many of a year's backlog would
    hold the primary for minutes. Returns how many were deleted."""
    deleted = 0
    while ids := await _first_ids(col, query, field, size):
        deleted += (await col.delete_many({**query, "_id": {"$in": ids}})).deleted_count
        if len(ids) < size:
            break
    return deleted


async def update_in_batches(col: Any, query: Doc, update: Doc, field: str, size: int) -> int:
    """Update what matches `query` `size` documents a call; the update must take a document
    out of `query` (else the same batch would be found again). Returns how many changed."""
    changed = 0
    while ids := await _first_ids(col, query, field, size):
        changed += (await col.update_many({**query, "_id": {"$in": ids}}, update)).modified_count
        if len(ids) < size:
            break
    return changed


async def _first_ids(col: Any, query: Doc, field: str, size: int) -> list[Any]:
    cursor = col.find(query, {"_id": 1}).sort(field, 1).limit(size)
    return [doc["_id"] for doc in await cursor.to_list(None)]
