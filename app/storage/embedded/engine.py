"""Units of work that interleave as a replica set's transactions do, on top of mongomock
(docs/design.md, "The embedded engine's transactions"). A unit writes in place and holds each
document it wrote until it ends (first writer wins: a second writer meets a write conflict at
once); everyone else reads, through a view, the document as it was committed at their
snapshot; a unit that aborts is undone from the images it kept. A real server is not touched
by any of this."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from pymongo.errors import OperationFailure, PyMongoError

from app.storage.documents import Doc
from app.storage.embedded import internals
from app.storage.embedded.buckets import remember
from app.storage.embedded.copies import copy_document
from app.storage.embedded.fast import install as install_speed_ups
from app.storage.embedded.latency import Latency
from app.storage.embedded.scan import Scanner
from app.storage.embedded.turns import FreeRunning, Turns
from app.storage.embedded.uniques import in_partial, value_at

T = TypeVar("T")
Key = tuple[str, Any]  # (collection, _id)

LIFETIME_SECONDS = 60  # transactionLifetimeLimitSeconds, the server's default
LIFETIME_EXCEEDED = "past the 60 s transaction lifetime"


class Faults(Protocol):
    """A test's plan of errors to raise where a replica set could raise them."""

    def step(self, session: Unit, operation: str, collection: str, upsert: bool) -> None: ...

    def commit(self, session: Unit) -> None: ...


class Unit:
    """One run of a unit of work: the snapshot it reads, and each document it wrote with what
    it looked like before (None: it did not exist): the documents it holds, and its undo."""

    _numbers = itertools.count(1)

    def __init__(self, attempt: int, started: float, snapshot: int | None = None) -> None:
        self.number = next(self._numbers)
        self.attempt = attempt  # 0 for the first run of the callback, 1 for its re-run...
        self.started = started
        self.snapshot = snapshot  # taken at its first call, as a server takes it
        self.steps = 0  # collection calls made by this run
        self.before: dict[Key, Doc | None] = {}
        self.held: Counter[str] = Counter()  # documents it holds, per collection
        self.aborted: str | None = None  # why the engine ended it under its feet
        self.task = asyncio.current_task()
        self.ended = asyncio.Event()


_CONFLICT = {"errorLabels": ["TransientTransactionError"], "codeName": "WriteConflict"}


def _conflict_message(collection: str, doc_id: Any) -> str:
    return (
        f"WriteConflict: {collection} {doc_id!r} was written by another transaction since "
        "this one's snapshot"
    )


def no_such_transaction(why: str) -> OperationFailure:
    return OperationFailure(
        f"NoSuchTransaction: the transaction was aborted ({why})",
        code=251,
        details={"errorLabels": ["TransientTransactionError"], "codeName": "NoSuchTransaction"},
    )


class Conflict(OperationFailure):
    """A write conflict, with the unit that holds the document (None: it committed)."""

    def __init__(self, collection: str, doc_id: Any, holder: Unit | None) -> None:
        super().__init__(_conflict_message(collection, doc_id), 112, dict(_CONFLICT))
        self.holder = holder


class EmbeddedEngine:
    """The engine of one database: its collections, the units of work in flight, and what
    they hold; `turns` says how tasks take turns (free, or seeded in tests)."""

    def __init__(self, raw_db: Any, scratch: Any) -> None:
        install_speed_ups()  # on the versions internals.py knows; else mongomock alone
        self.raw_db = raw_db  # mongomock's own (synchronous) database
        self.scratch = scratch  # a collection of another database, to work out documents
        self.faults: Faults | None = None  # set by the fault-injection tests only
        self.scanner = Scanner()  # tests make it yield on small collections too
        self.turns: Turns = FreeRunning()
        # Simulated replica-set latency (benchmarks only: EMBEDDED_ROUND_TRIP_MS and
        # EMBEDDED_COMMIT_MS); None: calls and commits take only the time they take.
        self.latency: Latency | None = None
        self.stats: Counter[str] = Counter()  # write conflicts, lifetime aborts (tests, docs)
        self.committed = 0  # the last commit's timestamp
        self.holders: defaultdict[str, dict[Any, Unit]] = defaultdict(dict)
        # Per collection and _id: (commit timestamp, the document before that commit), for
        # commits a unit in flight must not see; `log` lists them oldest first, to drop.
        self.history: defaultdict[str, dict[Any, list[tuple[int, Doc | None]]]] = defaultdict(dict)
        self.log: deque[tuple[int, list[Key]]] = deque()
        self.active: dict[int, Unit] = {}  # units that took their snapshot
        self._collections: dict[str, Any] = {}

    def collection(self, name: str) -> Any:
        from app.storage.embedded.collection import EmbeddedCollection

        if name not in self._collections:
            self._collections[name] = EmbeddedCollection(self.raw_db[name], name, self)
        return self._collections[name]

    # --- the call boundary ------------------------------------------------------------------

    def _turn_first(self) -> bool:
        """Whether a call takes its turn before any simulated wait: always, but for the
        free-running loop's turn when a simulated wait (a turn of the loop too) follows."""
        return self.latency is None or not isinstance(self.turns, FreeRunning)

    async def enter(
        self, unit: Unit | None, operation: str, collection: str, upsert: bool = False
    ) -> None:
        """Every collection call passes here before the engine acts on it: its turn (the
        event loop's, as a driver's call awaits the network; or a seeded test's draw), or the
        simulated round trip, which is a turn of the loop too; then the unit's checks."""
        if self._turn_first():
            await self.turns.call()
        if self.latency is not None:
            await self.latency.call()
        if unit is None:
            return
        self.alive(unit)
        if unit.snapshot is None:
            unit.snapshot = self.committed
            self.active[unit.number] = unit
        unit.steps += 1
        if self.faults is not None:
            self.faults.step(unit, operation, collection, upsert)

    def alive(self, unit: Unit) -> None:
        """NoSuchTransaction (transient: re-run) for a unit the engine ended, or one past the
        server's transaction lifetime, which the server aborts."""
        if unit.aborted is None and self.turns.now() - unit.started > LIFETIME_SECONDS:
            self.abort(unit, LIFETIME_EXCEEDED)
        if unit.aborted is not None:
            raise no_such_transaction(unit.aborted)

    # --- what a reader sees -----------------------------------------------------------------

    def hidden(self, reader: Unit | None, collection: str) -> list[tuple[Any, Any]]:
        """(_id, what `reader` sees instead of the stored document: a document, or None when
        it did not exist) for every document whose stored state `reader` must not see: written
        by a unit in flight other than itself, or committed after its snapshot."""
        found: dict[Any, Any] = {}
        if reader is not None and reader.snapshot is not None:
            for doc_id, entries in self.history[collection].items():
                for stamp, before in entries:
                    if stamp > reader.snapshot:
                        found[doc_id] = before
                        break
        holders = self.holders[collection]
        if len(holders) > (0 if reader is None else reader.held[collection]):  # not all its own
            for doc_id, holder in holders.items():
                if holder is not reader and doc_id not in found:
                    found[doc_id] = holder.before[(collection, doc_id)]
        return list(found.items())

    @contextmanager
    def view(self, reader: Unit | None, collection: str, raw: Any) -> Iterator[None]:
        """The store as `reader` must see it, for one synchronous mongomock call: hidden
        documents swapped for what it sees, and put back after."""
        hidden = self.hidden(reader, collection)
        if not hidden:
            yield
            return
        stored = [(doc_id, internals.stored(raw, doc_id)) for doc_id, _ in hidden]
        for doc_id, seen in hidden:
            internals.put(raw, doc_id, seen, remember)  # its values' buckets must find it
        try:
            yield
        finally:
            for doc_id, doc in reversed(stored):
                internals.put(raw, doc_id, doc, remember)

    # --- what a writer holds ----------------------------------------------------------------

    def claim(self, unit: Unit, collection: str, doc_id: Any, raw: Any) -> None:
        """Before `unit` writes a document: a write conflict when another unit in flight wrote
        it, or one committed it after the unit's snapshot (first writer wins); else the unit
        holds it until it ends, with what it looked like before."""
        key = (collection, doc_id)
        if key in unit.before:
            return
        holder = self.holders[collection].get(doc_id)
        if holder is not None and self.turns.now() - holder.started > LIFETIME_SECONDS:
            self.abort(holder, LIFETIME_EXCEEDED)  # the server's reaper
            holder = None
        entries = self.history[collection].get(doc_id)
        if holder is not None or (
            entries and unit.snapshot is not None and entries[-1][0] > unit.snapshot
        ):
            self.stats["write_conflicts"] += 1
            raise Conflict(collection, doc_id, holder)
        doc = internals.stored(raw, doc_id)
        unit.before[key] = None if doc is None else copy_document(doc)
        self.holders[collection][doc_id] = unit
        unit.held[collection] += 1

    def check_unique_keys(self, unit: Unit, collection: str, raw: Any, written: list) -> None:
        """A write conflict when a document `unit` writes takes a unique key that a document
        hidden from it holds or held (a server's index entry in another transaction's
        hands). The hidden documents' keys are worked out once for all the documents written:
        a batch of 1,000 entries beside another unit's 1,000 was a million comparisons."""
        hidden = self.hidden(unit, collection) if written else []
        if not hidden:
            return
        held: dict[tuple[str, str], list[int]] = {}  # key -> positions in `hidden` holding it
        for position, (doc_id, seen) in enumerate(hidden):
            for version in (seen, internals.stored(raw, doc_id)):
                if version is not None:
                    for key in self.unique_keys(raw, version):
                        held.setdefault(key, []).append(position)
        if not held:
            return
        for doc in written:
            holding = [
                position
                for key in self.unique_keys(raw, doc)
                for position in held.get(key, ())
                if hidden[position][0] != doc.get("_id")
            ]
            if holding:  # the first hidden document that holds one of its keys, as before
                doc_id = hidden[min(holding)][0]
                self.stats["write_conflicts"] += 1
                raise Conflict(collection, doc_id, self.holders[collection].get(doc_id))

    # --- documents worked out apart (a collection no one reads) -----------------------------

    def upserted(self, filter: Any, update: Any) -> Doc:
        """The document an upsert that matched nothing inserts, as mongomock makes it."""
        self.scratch.delete_many({})
        self.scratch.update_one(filter, update, upsert=True)
        return self._scratch_document()

    def replaced(self, filter: Any, doc: Doc) -> Doc:
        self.scratch.delete_many({})
        self.scratch.replace_one(filter, doc, upsert=True)
        return self._scratch_document()

    def updated_copy(self, doc: Doc, update: Any) -> Doc:
        self.scratch.delete_many({})
        self.scratch.insert_one(doc)
        self.scratch.update_one({"_id": doc["_id"]}, update)
        return self._scratch_document()

    def _scratch_document(self) -> Doc:
        return copy_document(internals.only_document(self.scratch))

    def unique_keys(self, raw: Any, doc: Doc) -> set[tuple[str, Any]]:
        """(index name, key) for each unique index besides `_id` that `doc` is in (arrays and
        sub-documents compared as text)."""
        keys = set()
        for name, index in internals.indexes(raw).items():
            if not index.get("unique") or name == "_id_":
                continue
            values = [value_at(doc, field) for field, _ in index["key"]]
            if index.get("sparse") and all(v is None for v in values):
                continue
            partial = index.get("partialFilterExpression")
            if partial is not None and not self._in_partial(partial, doc):
                continue
            keys.add((name, repr(values)))
        return keys

    def _in_partial(self, partial: Any, doc: Doc) -> bool:
        # The unique check's compiled test on the versions internals.py knows; else mongomock's
        # public find (the speed-ups are off there).
        if internals.PRIVATE:
            return in_partial(partial, doc)
        return internals.matches(partial, doc, self.scratch)

    # --- the end of a unit ------------------------------------------------------------------

    async def enter_commit(self) -> None:
        """Every commit passes here first: its turn, or the simulated majority commit."""
        if self._turn_first():
            await self.turns.call()
        if self.latency is not None:
            await self.latency.commit_wait()

    def commit(self, unit: Unit) -> None:
        self.alive(unit)
        if self.faults is not None:
            try:
                self.faults.commit(unit)
            except PyMongoError as exc:
                if not exc.has_error_label("UnknownTransactionCommitResult"):
                    self.abort(unit, "its commit failed")
                raise
        self.publish(unit)

    def publish(self, unit: Unit) -> None:
        """Make `unit`'s writes the latest committed state, keeping what they replaced for
        the units in flight whose snapshot is older."""
        self.committed += 1
        if unit.before and any(other is not unit for other in self.active.values()):
            keys = list(unit.before)
            for collection, doc_id in keys:
                before = unit.before[(collection, doc_id)]
                self.history[collection].setdefault(doc_id, []).append((self.committed, before))
            self.log.append((self.committed, keys))
        self._end(unit)

    def abort(self, unit: Unit, why: str = "aborted") -> None:
        """Undo `unit`'s writes (newest first) and let go of what it holds."""
        if unit.aborted is not None or unit.ended.is_set():
            return
        unit.aborted = why
        if why == LIFETIME_EXCEEDED:
            self.stats["lifetime_aborts"] += 1
        for (collection, doc_id), before in reversed(unit.before.items()):
            raw = self.raw_db[collection]
            if before is None:
                raw.delete_one({"_id": doc_id})
            else:
                raw.replace_one({"_id": doc_id}, before, upsert=True)
        self._end(unit)

    def _end(self, unit: Unit) -> None:
        for collection, doc_id in unit.before:
            if self.holders[collection].get(doc_id) is unit:
                del self.holders[collection][doc_id]
        self.active.pop(unit.number, None)
        unit.ended.set()
        self._forget()

    def _forget(self) -> None:
        """Drop the history no unit in flight can still see."""
        if not self.active:
            self.history.clear()
            self.log.clear()
            return
        oldest = min(u.snapshot for u in self.active.values() if u.snapshot is not None)
        while self.log and self.log[0][0] <= oldest:
            _, keys = self.log.popleft()
            for collection, doc_id in keys:
                entries = self.history[collection].get(doc_id)
                if entries is not None:
                    entries[:] = [e for e in entries if e[0] > oldest]
                    if not entries:
                        del self.history[collection][doc_id]

    # --- writes outside transactions --------------------------------------------------------

    async def auto_commit(self, work: Callable[[Unit], T]) -> T:
        """A write outside a transaction, as a server does it: on the latest committed state,
        waiting for a unit in flight that holds a document it writes (the server retries such
        a write until the transaction ends), then committed at once."""
        while True:
            unit = Unit(0, self.turns.now(), snapshot=self.committed)
            try:
                result = work(unit)
            except Conflict as conflict:
                self.abort(unit)
                holder = conflict.holder
                if holder is None:
                    raise
                if holder.task is asyncio.current_task():
                    raise RuntimeError(
                        "a write outside the unit of work on a document that same unit holds "
                        "(pass its session): it would wait for itself"
                    ) from conflict
                await holder.ended.wait()
                continue
            except BaseException:
                self.abort(unit)
                raise
            self.publish(unit)
            return result
