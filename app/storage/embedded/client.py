"""The embedded engine dressed as the driver's client: `client[name]` a database whose
collections are the engine's, and `start_session()` a session whose transactions are the
engine's units of work and whose `with_transaction` re-runs them as the driver's does.
app/storage/database.py uses it exactly as it uses AsyncMongoClient."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import mongomock
from mongomock_motor import AsyncMongoMockClient
from pymongo.errors import NetworkTimeout, PyMongoError

from app.storage.embedded.collection import EmbeddedCollection
from app.storage.embedded.engine import EmbeddedEngine, Unit

T = TypeVar("T")

# The driver's with_transaction (pymongo's client_session_shared.py): a re-run waits a random
# part of an exponential back-off, and nothing is re-run or retried after 120 s.
RETRY_SECONDS = 120
BACKOFF_INITIAL = 0.005
BACKOFF_MAX = 0.5
TRANSIENT = "TransientTransactionError"
UNKNOWN_COMMIT = "UnknownTransactionCommitResult"


class EmbeddedDatabase:
    """A database of the embedded engine; `raw` is mongomock-motor's view of the same data,
    outside the engine (tests compare with it)."""

    def __init__(self, sync: Any, raw: Any, scratch: Any) -> None:
        self.sync = sync
        self.raw = raw
        self.name = sync.name
        self.engine = EmbeddedEngine(sync, scratch)

    def __getitem__(self, collection: str) -> EmbeddedCollection:
        return self.engine.collection(collection)

    async def list_collection_names(self) -> list[str]:
        return self.sync.list_collection_names()

    async def create_collection(self, name: str) -> Any:
        return self.sync.create_collection(name)

    async def command(self, *args: Any, **kwargs: Any) -> Any:
        return self.sync.command(*args, **kwargs)


class EmbeddedSession:
    """A driver session: one transaction at a time, each a unit of work of the engine."""

    def __init__(self, engine: EmbeddedEngine) -> None:
        self.engine = engine
        self.unit: Unit | None = None
        self._runs = 0

    async def __aenter__(self) -> EmbeddedSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.unit is not None:
            self.engine.abort(self.unit)
            self.unit = None

    @property
    def in_transaction(self) -> bool:
        return self.unit is not None

    async def start_transaction(self, *args: Any, **kwargs: Any) -> None:
        self.unit = Unit(self._runs, self.engine.turns.now())
        self._runs += 1

    async def commit_transaction(self) -> None:
        """A round trip of its own (tasks take turns there too). An unknown result leaves the
        transaction open, for the commit to be retried; any other failure ends it."""
        unit = self.unit
        assert unit is not None
        await self.engine.enter_commit()
        try:
            self.engine.commit(unit)
        except PyMongoError as exc:
            if not exc.has_error_label(UNKNOWN_COMMIT):
                self.unit = None
            raise
        self.unit = None

    async def abort_transaction(self) -> None:
        if self.unit is not None:
            self.engine.abort(self.unit)
            self.unit = None

    async def with_transaction(self, callback: Callable[[Any], Awaitable[T]], **_: Any) -> T:
        """The driver's with_transaction, step for step, on the engine's clock."""
        turns = self.engine.turns
        start = turns.now()
        retry = 0
        last_error: BaseException | None = None
        while True:
            if retry:
                backoff = turns.rng.random() * min(BACKOFF_INITIAL * 1.5**retry, BACKOFF_MAX)
                if turns.now() + backoff - start >= RETRY_SECONDS:
                    raise NetworkTimeout(str(last_error)) from last_error
                await turns.sleep(backoff)
            retry += 1
            await self.start_transaction()
            try:
                result = await callback(self)
            except BaseException as exc:
                last_error = exc
                await self.abort_transaction()
                if isinstance(exc, PyMongoError) and exc.has_error_label(TRANSIENT):
                    if turns.now() - start < RETRY_SECONDS:
                        continue
                    raise NetworkTimeout(str(exc)) from exc
                raise
            if not self.in_transaction:
                return result
            while True:
                try:
                    await self.commit_transaction()
                except PyMongoError as exc:
                    last_error = exc
                    if turns.now() - start >= RETRY_SECONDS:
                        raise NetworkTimeout(str(exc)) from exc
                    if exc.has_error_label(UNKNOWN_COMMIT):
                        continue
                    if exc.has_error_label(TRANSIENT):
                        break
                    raise
                return result


class EmbeddedClient:
    """One in-memory server (mongomock) holding the service's database."""

    embedded = True

    def __init__(self) -> None:
        self.sync: Any = mongomock.MongoClient(tz_aware=True)
        self.raw: Any = AsyncMongoMockClient(mock_mongo_client=self.sync)
        self._scratch: Any = mongomock.MongoClient(tz_aware=True)["scratch"]["documents"]
        self._databases: dict[str, EmbeddedDatabase] = {}

    def __getitem__(self, name: str) -> EmbeddedDatabase:
        if name not in self._databases:
            self._databases[name] = EmbeddedDatabase(self.sync[name], self.raw[name], self._scratch)
        return self._databases[name]

    def start_session(self) -> EmbeddedSession:
        (database,) = self._databases.values()  # the service uses one database
        return EmbeddedSession(database.engine)

    async def drop_database(self, name: str) -> None:
        self._databases.pop(name, None)
        self.sync.drop_database(name)

    async def close(self) -> None:  # a coroutine, as the driver's
        return None
