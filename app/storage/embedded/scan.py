"""Scans that share the event loop, for the embedded engine. A query that no fast path narrows
(fast.py: by `_id`, unique keys) makes mongomock filter every document of the
collection in one call; at 50,000 events or idempotency keys that held every request for 15 to
200 ms (the dispatcher's search for undispatched events, the retention purges). Here such a
query on a big collection is filtered a slice of documents at a time, with the event loop free
between slices, as a real server yields during a collection scan; the documents it found are
then read (or written) by `_id`, so mongomock still decides the answer and makes the copies.

Like a real server's scan outside a snapshot, a scan that yields may miss a document changed
while it ran; each answer still matches its filter when it is read. A real server is not
touched by any of this."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from app.storage.documents import Doc
from app.storage.embedded import internals
from app.storage.embedded.buckets import bucket_size
from app.storage.embedded.fast import (
    bounds,
    equalities,
    exact_ids,
    field_of,
    keep_bounded,
    keep_equal,
    sortable,
    source,
)
from app.storage.embedded.internals import documents_of, filter_applies, store_of

SortKeys = list[tuple[str, int]]


class Scanner:
    """How big a collection must be before its scans yield, and how many documents a slice
    filters between two yields: under a millisecond, whether or not an equality on a top-level
    field narrows it first. A request arriving during a background scan (the retention sweep
    over every idempotency key) waits a slice at each of its own yields: 3 ms slices added
    4 ms to every debit while the sweep ran. A sorted page (a sort and a limit) takes the scan
    from `page_above` documents: mongomock sorts every match by its BSON comparison and copies
    them all before cutting to the page (164 ms for a page of an account of 1,500 entries),
    where the scan sorts them by Python's order and has mongomock read the page alone."""

    def __init__(self, above: int = 2_000, slice_size: int = 64, page_above: int = 100) -> None:
        self.above = above
        self.slice_size = slice_size
        self.page_above = page_above

    def applies(self, raw: Any, filter: Any, *, page: bool = False) -> bool:
        """Whether `filter` has more than `above` documents to filter (`page_above` for a
        sorted page): those of the collection, or of the bucket of one of its equalities."""
        if not internals.PRIVATE or not isinstance(filter, Mapping):
            return False  # on the public path mongomock answers every query itself
        if exact_ids(filter) is not None:
            return False
        size = bucket_size(store_of(raw), equalities(filter))
        above = min(self.above, self.page_above) if page else self.above
        return (len(documents_of(store_of(raw))) if size is None else size) > above

    async def matching(
        self,
        raw: Any,
        filter: Doc,
        *,
        keys: SortKeys | None = None,
        want: int = 0,
        view: Callable[[], AbstractContextManager] = nullcontext,
    ) -> tuple[list[Doc], bool]:
        """The stored documents that match `filter`, a slice at a time, and whether they are in
        the order of `keys` (then only the first `want` of them, all when 0): they are sorted
        here when Python's order is BSON's. The candidates are listed within `view` (what the
        reader may see); the caller reads the answers by `_id` within it again."""
        spec = internals.patched_filter(filter)
        docs, checked = await self._candidates(raw, spec, view)
        ordered = keys is not None and sortable(docs, keys)
        if keys is not None and ordered:
            for key, direction in reversed(keys):
                await asyncio.sleep(0)  # a sort of many candidates (a backlog) takes ms
                docs.sort(key=field_of(key), reverse=direction < 0)
        else:
            want = 0
        if checked:
            return (docs[:want] if want else docs), ordered
        found: list[Doc] = []
        for start in range(0, len(docs), self.slice_size):
            found += [
                doc for doc in docs[start : start + self.slice_size] if filter_applies(spec, doc)
            ]
            if want and len(found) >= want:
                return found[:want], ordered
            await asyncio.sleep(0)
        return found, ordered

    async def _candidates(
        self, raw: Any, spec: Doc, view: Callable[[], AbstractContextManager]
    ) -> tuple[list[Doc], bool]:
        """The documents that may match (True: that do match). An equality on a top-level field
        is checked by a plain comparison (looser than BSON's, never stricter) a hundred times
        cheaper than mongomock's filter, in longer slices, and so are a range or `$exists:
        false` on a top-level field beside it; the filter itself is left for the few documents
        a page needs. Without one, every document goes through the filter."""
        equal, bounded = equalities(spec), bounds(spec)
        with view():
            docs = source(store_of(raw), equal)
        step = self.slice_size * (16 if equal else 1)
        found: list[Doc] = []
        for start in range(0, len(docs), step):
            part = docs[start : start + step]
            found += (
                keep_bounded(keep_equal(part, equal), bounded)
                if equal
                else [doc for doc in part if filter_applies(spec, doc)]
            )
            await asyncio.sleep(0)
        return found, not equal

    async def ids_in_slices(
        self, raw: Any, filter: Doc, view: Callable[[], AbstractContextManager]
    ) -> AsyncIterator[list]:
        """The matching `_id`s, a slice at a time, for writes that go between requests."""
        ids = [doc["_id"] for doc in (await self.matching(raw, filter, view=view))[0]]
        for start in range(0, len(ids), self.slice_size):
            yield ids[start : start + self.slice_size]
            await asyncio.sleep(0)


def by_ids(ids: list, filter: Doc) -> Doc:
    """`filter`, bounded to `ids` so that the fast path by `_id` answers it."""
    return {"$and": [{"_id": {"$in": ids}}, filter]}


class ScanCursor:
    """A cursor (sort, skip, limit, to_list, async iteration) of the embedded engine: its
    filter is matched by the `Scanner` when the collection is big, by mongomock otherwise, on
    the store as its reader sees it."""

    def __init__(
        self, collection: Any, filter: Any, projection: Any, kwargs: Doc, session: Any
    ) -> None:
        self.collection = collection  # the engine's EmbeddedCollection
        self.raw = collection.raw
        self.filter = {} if filter is None else filter
        self.projection = projection
        self.kwargs = kwargs
        self.session = session
        self.keys: SortKeys = []
        self._skip = 0
        self._limit = 0

    def sort(self, key: Any, direction: int | None = None) -> ScanCursor:
        self.keys = [(key, direction or 1)] if isinstance(key, str) else list(key)
        return self

    def skip(self, count: int) -> ScanCursor:
        self._skip = count
        return self

    def limit(self, count: int) -> ScanCursor:
        self._limit = count
        return self

    async def to_list(self, length: int | None = None) -> list[Doc]:
        reader = await self.collection._enter(self.session, "find")
        return await self.collect(reader, length)

    async def collect(self, reader: Any, length: int | None = None) -> list[Doc]:
        """The answer, for a reader that has passed the call boundary."""
        seen = self.collection.seen
        page = bool(self.keys and self._limit)
        if not self.collection.engine.scanner.applies(self.raw, self.filter, page=page):
            return seen(reader, lambda: self._raw(self.filter, self._skip, self._limit, length))
        skip, limit = self._skip, self._limit
        want = skip + limit if limit else 0
        docs, ordered = await self.collection.engine.scanner.matching(
            self.raw,
            self.filter,
            keys=self.keys,
            want=want,
            view=lambda: self.collection.engine.view(reader, self.collection.name, self.raw),
        )
        if ordered:  # narrowed to the page here; mongomock sorts and cuts the others
            docs, skip, limit = docs[skip:], 0, 0
        if not docs:
            return []
        ids = [d["_id"] for d in docs]
        return seen(reader, lambda: self._raw(by_ids(ids, self.filter), skip, limit, length))

    def _raw(self, filter: Any, skip: int, limit: int, length: int | None) -> list[Doc]:
        cursor = self.raw.find(filter, self.projection, **self.kwargs)
        if self.keys:
            cursor = cursor.sort(self.keys)
        docs = internals.results(cursor.skip(skip).limit(limit))
        return docs[:length] if length else docs

    async def __aiter__(self):
        for doc in await self.to_list(None):
            yield doc
