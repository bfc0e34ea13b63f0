"""The embedded engine (mongomock-motor) given what a replica set's transactions have: a unit
of work's writes are journaled and undone when it fails, and it is re-run as the driver's
`with_transaction` would re-run it. Nothing here changes what a real server does."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from pymongo import UpdateOne
from pymongo.errors import PyMongoError
from pymongo.results import BulkWriteResult

from app.calls import CallCounter
from app.embedded_copies import answer_copy, copy_document
from app.embedded_fast import install as install_fast_paths
from app.embedded_fast import stored_match
from app.embedded_scan import ScanCursor, Scanner

T = TypeVar("T")
Doc = dict[str, Any]

WRITES = (
    "insert_one",
    "update_one",
    "update_many",
    "find_one_and_update",
    "replace_one",
    "delete_one",
    "delete_many",
)


class Faults(Protocol):
    """A test's plan of errors to raise where a replica set could raise them."""

    def step(self, session: Journal, operation: str, collection: str, upsert: bool) -> None: ...

    def commit(self, session: Journal) -> None: ...


class Journal:
    """The embedded engine's session: what each document looked like before the unit of work
    first wrote it (None: it did not exist), so that the unit can be undone."""

    def __init__(self, attempt: int) -> None:
        self.attempt = attempt  # 0 for the first run of the callback, 1 for its re-run...
        self.steps = 0  # collection calls made by this run
        self.before: dict[tuple[str, Any], Doc | None] = {}

    def keep(self, collection: str, doc_id: Any, doc: Doc | None) -> None:
        if (collection, doc_id) not in self.before:  # the first image is the one to restore
            self.before[(collection, doc_id)] = None if doc is None else copy_document(doc)

    def keep_copy(self, collection: str, doc_id: Any, copied: Doc) -> None:
        """As `keep`, with a copy the caller made and no longer changes."""
        self.before.setdefault((collection, doc_id), copied)

    async def undo(self, raw_db: Any) -> None:
        for (collection, doc_id), doc in reversed(self.before.items()):
            if doc is None:
                await raw_db[collection].delete_one({"_id": doc_id})
            else:
                await raw_db[collection].replace_one({"_id": doc_id}, doc, upsert=True)
        self.before.clear()


class EmbeddedCollection:
    """A mongomock-motor collection that journals the writes made in a unit of work."""

    def __init__(self, raw: Any, name: str, engine: EmbeddedEngine) -> None:
        self.raw = raw
        self.name = name
        self.engine = engine

    def __getattr__(self, name: str) -> Any:  # indexes, drop, ...: passed through
        return getattr(self.raw, name)

    def _step(self, session: Journal | None, operation: str, upsert: bool = False) -> None:
        self.engine.calls.add(operation, self.name)
        if session is None:
            return
        session.steps += 1
        if self.engine.faults is not None:
            self.engine.faults.step(session, operation, self.name, upsert)

    def find(
        self,
        filter: Doc | None = None,
        projection: Any = None,
        *,
        session: Journal | None = None,
        **kwargs: Any,
    ) -> ScanCursor:
        self._step(session, "find")
        return ScanCursor(self.raw, self.engine.scanner, filter, projection, kwargs)

    async def find_one(
        self,
        filter: Any = None,
        projection: Any = None,
        *,
        session: Journal | None = None,
        sort: Any = None,
        **kwargs: Any,
    ) -> Doc | None:
        self._step(session, "find_one")
        if projection is None and sort is None and not kwargs:
            stored = stored_match(self.raw, filter)
            if stored is not NotImplemented:  # one `_id`: no cursor, one copy
                return None if stored is None else self._copy(stored)
        if not self.engine.scanner.applies(self.raw, filter):
            return await self.raw.find_one(filter, projection, sort=sort, **kwargs)
        cursor = ScanCursor(self.raw, self.engine.scanner, filter, projection, kwargs)
        found = await (cursor.sort(sort) if sort else cursor).limit(1).to_list(1)
        return found[0] if found else None

    async def count_documents(
        self, filter: Doc, *, session: Journal | None = None, **kwargs: Any
    ) -> int:
        self._step(session, "count_documents")
        if kwargs or not self.engine.scanner.applies(self.raw, filter):
            return await self.raw.count_documents(filter, **kwargs)
        return len((await self.engine.scanner.matching(self.raw, filter))[0])

    async def insert_one(self, doc: Doc, *, session: Journal | None = None, **kwargs: Any):
        self._step(session, "insert_one")
        result = await self.raw.insert_one(doc, **kwargs)
        if session is not None:
            session.keep(self.name, result.inserted_id, None)
        return result

    async def _keep_matching(
        self, session: Journal | None, filter: Mapping[str, Any], *, many: bool, sort: Any = None
    ) -> bool:
        if session is None:
            return True
        if not many and sort is None:
            stored = stored_match(self.raw, filter)  # by `_id`, without a copy of a copy
            if stored is not NotImplemented:
                if stored is not None:
                    session.keep(self.name, stored["_id"], stored)
                return stored is not None
        if many:
            docs = await self.raw.find(filter).to_list(None)
        else:
            doc = await self.raw.find_one(filter, sort=sort)
            docs = [doc] if doc is not None else []
        for doc in docs:
            session.keep(self.name, doc["_id"], doc)
        return bool(docs)

    async def _keep_upserted(self, session: Journal | None, matched: bool, filter: Doc) -> None:
        if session is not None and not matched:
            doc = await self.raw.find_one(filter)
            if doc is not None:
                session.keep(self.name, doc["_id"], None)

    async def update_one(
        self,
        filter: Doc,
        update: Any,
        upsert: bool = False,
        *,
        session: Journal | None = None,
        **kwargs: Any,
    ):
        self._step(session, "update_one", upsert)
        await self._keep_matching(session, filter, many=False)
        result = await self.raw.update_one(filter, update, upsert=upsert, **kwargs)
        if session is not None and result.upserted_id is not None:
            session.keep(self.name, result.upserted_id, None)
        return result

    async def update_many(
        self,
        filter: Doc,
        update: Any,
        upsert: bool = False,
        *,
        session: Journal | None = None,
        **kwargs: Any,
    ):
        self._step(session, "update_many", upsert)
        if session is None and not upsert and self.engine.scanner.applies(self.raw, filter):
            return await self.engine.scanner.update_many(self.raw, filter, update, **kwargs)
        await self._keep_matching(session, filter, many=True)
        return await self.raw.update_many(filter, update, upsert=upsert, **kwargs)

    async def find_one_and_update(
        self, filter: Doc, update: Any, *args: Any, session: Journal | None = None, **kwargs: Any
    ):
        self._step(session, "find_one_and_update", bool(kwargs.get("upsert")))
        if not args and set(kwargs) <= {"upsert", "return_document"}:
            stored = stored_match(self.raw, filter)
            if stored is not NotImplemented and (stored is not None or not kwargs.get("upsert")):
                return await self._update_by_id(
                    session, stored, update, kwargs.get("return_document")
                )
        matched = await self._keep_matching(session, filter, many=False, sort=kwargs.get("sort"))
        result = await self.raw.find_one_and_update(filter, update, *args, **kwargs)
        if kwargs.get("upsert"):
            await self._keep_upserted(session, matched, filter)
        return result

    async def _update_by_id(
        self, session: Journal | None, stored: Doc | None, update: Any, return_document: Any
    ) -> Doc | None:
        """find_one_and_update of the one document a filter names by `_id` (the account's
        guarded change on every debit, hold and capture): mongomock would find it, copy it,
        update it and find it again; here the copy taken before the update serves the journal
        and the answer, and the update goes to it by `_id`. Same answer, half the copies."""
        if stored is None:
            return None
        doc_id = stored["_id"]
        before = copy_document(stored)
        if session is not None:
            session.keep_copy(self.name, doc_id, before)
        await self.raw.update_one({"_id": doc_id}, update)
        return self._copy(self.raw._store[doc_id] if return_document else before)  # AFTER: True

    def _copy(self, stored: Doc) -> Doc:
        return answer_copy(self.raw, stored)

    async def replace_one(
        self,
        filter: Doc,
        replacement: Doc,
        upsert: bool = False,
        *,
        session: Journal | None = None,
        **kwargs: Any,
    ):
        self._step(session, "replace_one", upsert)
        matched = await self._keep_matching(session, filter, many=False)
        result = await self.raw.replace_one(filter, replacement, upsert=upsert, **kwargs)
        if upsert:
            await self._keep_upserted(session, matched, filter)
        return result

    async def delete_one(self, filter: Doc, *, session: Journal | None = None, **kwargs: Any):
        self._step(session, "delete_one")
        await self._keep_matching(session, filter, many=False)
        return await self.raw.delete_one(filter, **kwargs)

    async def bulk_write(
        self, requests: list[UpdateOne], *, session: Journal | None = None, **kwargs: Any
    ) -> BulkWriteResult:
        """One call (one round trip on a replica set) for many updates, applied in order; the
        stand-in has no bulk_write of its own that takes today's pymongo operations."""
        self._step(session, "bulk_write")
        matched = modified = 0
        for request in requests:
            if not isinstance(request, UpdateOne):
                raise NotImplementedError("the embedded engine's bulk_write takes UpdateOne only")
            doc = request._doc  # pymongo keeps the operation's parts private
            await self._keep_matching(session, request._filter, many=False)
            result = await self.raw.update_one(request._filter, doc)
            matched += result.matched_count
            modified += result.modified_count
        return BulkWriteResult(
            {
                "nInserted": 0,
                "nUpserted": 0,
                "nMatched": matched,
                "nModified": modified,
                "nRemoved": 0,
                "upserted": [],
            },
            True,
        )

    async def delete_many(self, filter: Doc, *, session: Journal | None = None, **kwargs: Any):
        self._step(session, "delete_many")
        if session is None and self.engine.scanner.applies(self.raw, filter):
            return await self.engine.scanner.delete_many(self.raw, filter, **kwargs)
        await self._keep_matching(session, filter, many=True)
        return await self.raw.delete_many(filter, **kwargs)


class EmbeddedEngine:
    """Runs units of work one at a time (the isolation a transaction gives) with rollback."""

    def __init__(self, raw_db: Any, calls: CallCounter | None = None) -> None:
        install_fast_paths()  # before any collection is created: mongomock-motor wraps them
        self.raw_db = raw_db
        self.calls = calls or CallCounter()
        self.faults: Faults | None = None  # set by the fault-injection tests only
        self.scanner = Scanner()  # tests make it yield on small collections too
        self._collections: dict[str, EmbeddedCollection] = {}

    def collection(self, name: str) -> EmbeddedCollection:
        if name not in self._collections:
            self._collections[name] = EmbeddedCollection(self.raw_db[name], name, self)
        return self._collections[name]

    async def run(self, work: Callable[[Journal], Awaitable[T]]) -> T:
        """As `ClientSession.with_transaction`: a callback that raises is undone, and re-run
        when the error is labelled TransientTransactionError; a commit whose result is unknown
        is retried (the writes stay once), one that turns out aborted re-runs the callback."""
        attempt = 0
        while True:
            session = Journal(attempt)
            attempt += 1
            try:
                result = await work(session)
            except BaseException as exc:
                await session.undo(self.raw_db)
                if _labelled(exc, "TransientTransactionError"):
                    continue
                raise
            if await self._commit(session):
                return result

    async def _commit(self, session: Journal) -> bool:
        """True once committed; False when the commit failed transiently (undone: re-run)."""
        while True:
            try:
                if self.faults is not None:
                    self.faults.commit(session)
                return True
            except PyMongoError as exc:
                if exc.has_error_label("UnknownTransactionCommitResult"):
                    continue  # the driver retries commitTransaction itself
                await session.undo(self.raw_db)
                if exc.has_error_label("TransientTransactionError"):
                    return False
                raise


def _labelled(exc: BaseException, label: str) -> bool:
    return isinstance(exc, PyMongoError) and exc.has_error_label(label)


def freeze_after_full_collections() -> None:
    """For a process that holds an embedded database: every document is Python objects here,
    so each full cyclic collection walks the whole database (130 to 320 ms at 10,000 to 50,000
    ledger entries, with nothing to collect) while no request is served. What survives a full
    collection is frozen (gc.freeze), so the next one walks only what is newer. Documents hold
    no reference cycles: reference counting frees them when deleted, frozen or not."""
    if _freeze_survivors not in gc.callbacks:
        gc.collect()  # what start-up made (modules, the app, the catalog), frozen at once:
        gc.freeze()  # else the first full collection walks it while requests wait
        gc.callbacks.append(_freeze_survivors)


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()
