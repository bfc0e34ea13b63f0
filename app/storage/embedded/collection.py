"""A collection of the embedded engine, as the driver's async collection answers: every call
passes the engine's call boundary (`EmbeddedEngine.enter`), a read sees the store as its
reader must (`EmbeddedEngine.view`), and a write first finds what it applies to as its writer
sees it, then claims each document (a write conflict, or held until the unit ends), then
writes it in one synchronous mongomock call. A write outside a transaction commits at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from bson import ObjectId
from pymongo import IndexModel, UpdateOne
from pymongo.errors import DuplicateKeyError
from pymongo.results import (
    BulkWriteResult,
    DeleteResult,
    InsertManyResult,
    InsertOneResult,
    UpdateResult,
)

from app.storage.documents import Doc
from app.storage.embedded import internals
from app.storage.embedded.copies import copy_document
from app.storage.embedded.engine import EmbeddedEngine, Unit
from app.storage.embedded.fast import named_ids
from app.storage.embedded.scan import ScanCursor, by_ids

T = TypeVar("T")


class ListCursor:
    """What an aggregate or list_indexes answers: its documents, for `to_list` and `async for`."""

    def __init__(self, docs: list[Doc]) -> None:
        self.docs = docs

    async def to_list(self, length: int | None = None) -> list[Doc]:
        return self.docs[:length] if length else list(self.docs)

    async def __aiter__(self):
        for doc in self.docs:
            yield doc


class EmbeddedCollection:
    def __init__(self, raw: Any, name: str, engine: EmbeddedEngine) -> None:
        self.raw = raw  # mongomock's synchronous collection
        self.name = name
        self.engine = engine

    def __getattr__(self, name: str) -> Any:  # codec_options, database, ...: passed through
        return getattr(self.raw, name)

    # --- indexes (start-up, outside transactions) -------------------------------------------

    async def create_indexes(self, models: list[IndexModel]) -> list[str]:
        """mongomock's create_indexes drops partialFilterExpression, which would make every
        key-less ledger entry collide: created one by one instead, and only the missing ones
        (it checks a unique index's documents without its partial filter)."""
        existing = set(self.raw.index_information())
        for model in models:
            options = dict(model.document)
            keys = options.pop("key")
            if options["name"] not in existing:
                self.raw.create_index(list(keys.items()), **options)
        return [model.document["name"] for model in models]

    async def create_index(self, keys: Any, **kwargs: Any) -> str:
        return self.raw.create_index(keys, **kwargs)

    async def drop_index(self, name: str) -> None:
        self.raw.drop_index(name)

    async def list_indexes(self) -> ListCursor:  # a coroutine, as the driver's
        return ListCursor(list(self.raw.list_indexes()))

    async def index_information(self) -> dict:
        return self.raw.index_information()

    # --- the boundary, the view, the write --------------------------------------------------

    async def _enter(self, session: Any, operation: str, upsert: bool = False) -> Unit | None:
        unit = None if session is None else session.unit
        await self.engine.enter(unit, operation, self.name, upsert)
        return unit

    def seen(self, reader: Unit | None, read: Callable[[], T]) -> T:
        """`read()` (one synchronous mongomock call) on the store as `reader` sees it."""
        with self.engine.view(reader, self.name, self.raw):
            return read()

    async def _write(self, unit: Unit | None, write: Callable[[Unit], T]) -> T:
        if unit is not None:
            return write(unit)
        return await self.engine.auto_commit(write)

    def _scans(self, filter: Any) -> bool:
        return self.engine.scanner.applies(self.raw, filter)

    # --- reads ------------------------------------------------------------------------------

    def find(
        self, filter: Doc | None = None, projection: Any = None, *, session: Any = None, **kw: Any
    ) -> ScanCursor:
        return ScanCursor(self, filter, projection, kw, session)

    async def find_one(
        self,
        filter: Any = None,
        projection: Any = None,
        *,
        session: Any = None,
        sort: Any = None,
        **kwargs: Any,
    ) -> Doc | None:
        reader = await self._enter(session, "find_one")
        if self._scans(filter) or (
            sort and self.engine.scanner.applies(self.raw, filter, page=True)
        ):
            cursor = ScanCursor(self, filter, projection, kwargs, None)
            found = await (cursor.sort(sort) if sort else cursor).limit(1).collect(reader, 1)
            return found[0] if found else None
        return self.seen(reader, lambda: self.raw.find_one(filter, projection, sort=sort, **kwargs))

    async def count_documents(self, filter: Doc, *, session: Any = None, **kwargs: Any) -> int:
        reader = await self._enter(session, "count_documents")
        if not kwargs and self._scans(filter):
            view = self._view_of(reader)
            return len((await self.engine.scanner.matching(self.raw, filter, view=view))[0])
        return self.seen(reader, lambda: self.raw.count_documents(filter, **kwargs))

    async def aggregate(self, pipeline: list, *, session: Any = None, **kwargs: Any) -> ListCursor:
        reader = await self._enter(session, "aggregate")
        return ListCursor(self.seen(reader, lambda: list(self.raw.aggregate(pipeline, **kwargs))))

    async def distinct(
        self, key: str, filter: Doc | None = None, *, session: Any = None, **kwargs: Any
    ) -> list:
        reader = await self._enter(session, "distinct")
        return self.seen(reader, lambda: self.raw.distinct(key, filter, **kwargs))

    def _view_of(self, reader: Unit | None) -> Callable[[], Any]:
        return lambda: self.engine.view(reader, self.name, self.raw)

    # --- writes -----------------------------------------------------------------------------

    async def insert_one(self, doc: Doc, *, session: Any = None, **kwargs: Any) -> InsertOneResult:
        unit = await self._enter(session, "insert_one")
        return await self._write(unit, lambda u: InsertOneResult(self._insert(u, doc), True))

    async def insert_many(
        self, docs: list[Doc], *, session: Any = None, **kwargs: Any
    ) -> InsertManyResult:
        unit = await self._enter(session, "insert_many")
        return await self._write(unit, lambda u: InsertManyResult(self._insert_all(u, docs), True))

    async def update_one(
        self, filter: Doc, update: Any, upsert: bool = False, *, session: Any = None, **kw: Any
    ) -> UpdateResult:
        unit = await self._enter(session, "update_one", upsert)
        return await self._write(unit, lambda u: self._update(u, filter, update, upsert, False))

    async def update_many(
        self, filter: Doc, update: Any, upsert: bool = False, *, session: Any = None, **kw: Any
    ) -> UpdateResult:
        unit = await self._enter(session, "update_many", upsert)
        if unit is None and not upsert and self._scans(filter):
            matched = modified = 0
            async for ids in self.engine.scanner.ids_in_slices(
                self.raw, filter, self._view_of(None)
            ):
                result = await self.engine.auto_commit(self._update_of(ids, filter, update))
                matched += result.matched_count
                modified += result.modified_count
            return UpdateResult({"n": matched, "nModified": modified}, True)
        return await self._write(unit, lambda u: self._update(u, filter, update, upsert, True))

    async def replace_one(
        self, filter: Doc, doc: Doc, upsert: bool = False, *, session: Any = None, **kw: Any
    ) -> UpdateResult:
        unit = await self._enter(session, "replace_one", upsert)
        return await self._write(unit, lambda u: self._replace(u, filter, doc, upsert))

    async def find_one_and_update(
        self, filter: Doc, update: Any, *args: Any, session: Any = None, **kwargs: Any
    ) -> Doc | None:
        if args or not set(kwargs) <= {"upsert", "return_document", "sort"}:
            raise NotImplementedError(f"find_one_and_update with {args} {sorted(kwargs)}")
        unit = await self._enter(session, "find_one_and_update", bool(kwargs.get("upsert")))
        return await self._write(unit, lambda u: self._find_and_update(u, filter, update, kwargs))

    async def delete_one(self, filter: Doc, *, session: Any = None, **kwargs: Any) -> DeleteResult:
        unit = await self._enter(session, "delete_one")
        return await self._write(unit, lambda u: self._delete(u, filter, many=False))

    async def delete_many(self, filter: Doc, *, session: Any = None, **kwargs: Any) -> DeleteResult:
        unit = await self._enter(session, "delete_many")
        if unit is None and self._scans(filter):
            deleted = 0
            async for ids in self.engine.scanner.ids_in_slices(
                self.raw, filter, self._view_of(None)
            ):
                result = await self.engine.auto_commit(self._delete_of(ids, filter))
                deleted += result.deleted_count
            return DeleteResult({"n": deleted}, True)
        return await self._write(unit, lambda u: self._delete(u, filter, many=True))

    async def bulk_write(
        self, requests: list[UpdateOne], *, session: Any = None, **kwargs: Any
    ) -> BulkWriteResult:
        """One call (one round trip on a replica set) for many updates, applied in order."""
        unit = await self._enter(session, "bulk_write")
        return await self._write(unit, lambda u: self._bulk(u, requests))

    # --- the synchronous halves of the writes -----------------------------------------------

    def _targets(self, unit: Unit, filter: Any, *, many: bool, sort: Any = None) -> list:
        """The `_id`s a write applies to, as its writer sees the collection: by a cursor, or,
        for a filter naming them, each document read by `_id` and matched (a cursor, its
        projection and its copies were a quarter of a guarded update's time)."""
        named = None if sort else named_ids(filter)
        if named is not None:
            ids, rest = named
            return self.seen(unit, lambda: self._matching(ids, rest, many))

        def read() -> list:
            cursor = self.raw.find(filter, {"_id": 1})
            if sort:
                cursor = cursor.sort(sort)
            return [doc["_id"] for doc in internals.results(cursor if many else cursor.limit(1))]

        return self.seen(unit, read)

    def _matching(self, ids: tuple, rest: Any, many: bool) -> list:
        found = []
        for doc_id in ids:
            doc = self._stored(doc_id)
            if doc is not None and internals.filter_applies(rest, doc):
                found.append(doc["_id"])
                if not many:
                    break
        return found

    def _stored(self, doc_id: Any) -> Doc | None:
        return internals.stored(self.raw, doc_id)

    def _insert(self, unit: Unit, doc: Doc) -> Any:
        if "_id" not in doc:
            doc["_id"] = ObjectId()  # as the driver does, on the caller's document
        self.engine.claim(unit, self.name, doc["_id"], self.raw)
        try:
            internals.insert_one(self.raw, doc)
        except DuplicateKeyError:
            self.engine.check_unique_keys(unit, self.name, self.raw, [doc])
            raise
        self.engine.check_unique_keys(unit, self.name, self.raw, [doc])
        return doc["_id"]

    def _insert_all(self, unit: Unit, docs: list[Doc]) -> list:
        """`_insert` of each document in order, the unique keys that documents hidden from the
        unit hold checked once for all of them (the first one that conflicts raises, as it
        would have one by one: the unit is undone either way)."""
        ids: list = []
        try:
            for doc in docs:
                if "_id" not in doc:
                    doc["_id"] = ObjectId()
                self.engine.claim(unit, self.name, doc["_id"], self.raw)
                internals.insert_one(self.raw, doc)
                ids.append(doc["_id"])
        except DuplicateKeyError:
            self.engine.check_unique_keys(unit, self.name, self.raw, docs[: len(ids) + 1])
            raise
        self.engine.check_unique_keys(unit, self.name, self.raw, docs)
        return ids

    def _apply(self, unit: Unit, ids: list, write: Callable[[], T], update: Any = None) -> T:
        """Claim each document, then write: a duplicate key that another unit's document (in
        flight, or newer than the snapshot) makes is that unit's write conflict."""
        for doc_id in ids:
            self.engine.claim(unit, self.name, doc_id, self.raw)
        try:
            result = write()
        except DuplicateKeyError:
            if update is not None:
                wanted = [self._as_updated(self._stored(i), update) for i in ids]
                self.engine.check_unique_keys(unit, self.name, self.raw, wanted)
            raise
        written = [doc for i in ids if (doc := self._stored(i)) is not None]
        self.engine.check_unique_keys(unit, self.name, self.raw, written)
        return result

    def _update(
        self, unit: Unit, filter: Any, update: Any, upsert: bool, many: bool
    ) -> UpdateResult:
        ids = self._targets(unit, filter, many=many)
        if not ids:
            return self._nothing_matched(unit, upsert, lambda: self.engine.upserted(filter, update))
        fresh = {i for i in ids if (self.name, i) not in unit.before}
        return self._apply(
            unit, ids, lambda: self._update_found(unit, ids, fresh, filter, update), update
        )

    def _update_found(
        self, unit: Unit, ids: list, fresh: set, filter: Any, update: Any
    ) -> UpdateResult:
        """The update of the documents `_targets` found, claimed by `unit` (so stored as it saw
        them): not filtered again, and a document it claimed just now compared with its
        journal's copy of it instead of a copy of its own. A positional update (`a.$.b`)
        finds its element by the write's own filter, as mongomock's update does."""
        if not internals.PRIVATE or not isinstance(update, dict):
            return self.raw.update_many(by_ids(ids, filter), update)
        found = []
        for doc_id in ids:
            doc = self._stored(doc_id)
            if doc is not None:
                as_found = unit.before[(self.name, doc_id)] if doc_id in fresh else None
                found.append((doc, as_found))
        return UpdateResult(internals.update_found(self.raw, found, filter, update), True)

    def _replace(self, unit: Unit, filter: Any, doc: Doc, upsert: bool) -> UpdateResult:
        ids = self._targets(unit, filter, many=False)
        if not ids:
            return self._nothing_matched(unit, upsert, lambda: self.engine.replaced(filter, doc))
        return self._apply(unit, ids, lambda: self.raw.replace_one({"_id": ids[0]}, doc))

    def _nothing_matched(self, unit: Unit, upsert: bool, new: Callable[[], Doc]) -> UpdateResult:
        """An update or replace whose filter matched nothing: the upsert's document inserted,
        or nothing changed."""
        if not upsert:
            return UpdateResult({"n": 0, "nModified": 0, "ok": 1.0}, True)
        doc_id = self._insert(unit, new())
        return UpdateResult({"n": 1, "nModified": 0, "upserted": doc_id, "ok": 1.0}, True)

    def _find_and_update(self, unit: Unit, filter: Any, update: Any, kwargs: Doc) -> Doc | None:
        """find_one_and_update: the document named by the filter (as the writer sees it),
        updated by `_id` (it is the stored one, since the writer now holds it)."""
        after = bool(kwargs.get("return_document"))  # ReturnDocument.AFTER is True
        ids = self._targets(unit, filter, many=False, sort=kwargs.get("sort"))
        if not ids:
            if not kwargs.get("upsert"):
                return None
            doc_id = self._insert(unit, self.engine.upserted(filter, update))
            return self._answer(doc_id) if after else None
        doc_id = ids[0]
        self.engine.claim(unit, self.name, doc_id, self.raw)
        before = None if after else self._answer(doc_id)
        self._apply(unit, ids, lambda: self.raw.update_one({"_id": doc_id}, update), update)
        return self._answer(doc_id) if after else before

    def _answer(self, doc_id: Any) -> Doc:
        """What the driver answers for a stored document (this unit's own write: it exists)."""
        answer = self.raw.find_one({"_id": doc_id})
        assert answer is not None
        return answer

    def _update_of(self, ids: list, filter: Any, update: Any) -> Callable[[Unit], UpdateResult]:
        return lambda unit: self._update(unit, by_ids(ids, filter), update, False, True)

    def _delete_of(self, ids: list, filter: Any) -> Callable[[Unit], DeleteResult]:
        return lambda unit: self._delete(unit, by_ids(ids, filter), many=True)

    def _delete(self, unit: Unit, filter: Any, *, many: bool) -> DeleteResult:
        ids = self._targets(unit, filter, many=many)
        if not ids:
            return DeleteResult({"n": 0}, True)
        return self._apply(unit, ids, lambda: self.raw.delete_many({"_id": {"$in": ids}}))

    def _bulk(self, unit: Unit, requests: list[UpdateOne]) -> BulkWriteResult:
        matched = modified = 0
        for request in requests:
            if not isinstance(request, UpdateOne):
                raise NotImplementedError("the embedded engine's bulk_write takes UpdateOne only")
            filter, update = internals.update_one_parts(request)
            result = self._update(unit, filter, update, False, False)
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

    def _as_updated(self, doc: Doc | None, update: Any) -> Doc:
        return {} if doc is None else self.engine.updated_copy(copy_document(doc), update)
