"""Errors a replica set raises inside transactions, injected into the embedded engine
(`app.storage.embedded.engine.Faults`), and the whole database as comparable data."""

from __future__ import annotations

import re
from typing import Any

from pymongo.errors import DuplicateKeyError, OperationFailure

from app.storage.database import INDEXES, Database
from app.storage.embedded.engine import Unit


def write_conflict(operation: str, collection: str) -> OperationFailure:
    return OperationFailure(
        f"WriteConflict in {operation} on {collection} (injected)",
        code=112,
        details={"errorLabels": ["TransientTransactionError"], "codeName": "WriteConflict"},
    )


def unknown_commit_result() -> OperationFailure:
    return OperationFailure(
        "commit result unknown (injected)",
        code=91,
        details={"errorLabels": ["UnknownTransactionCommitResult"]},
    )


def no_such_transaction() -> OperationFailure:
    # What a retried commit gets when the first one did not happen: the transaction is gone.
    return OperationFailure(
        "NoSuchTransaction (injected)",
        code=251,
        details={"errorLabels": ["TransientTransactionError"], "codeName": "NoSuchTransaction"},
    )


class EveryPoint:
    """Each unit of work fails at every point in turn, as its re-runs go: run k of a unit
    meets a write conflict at its step k; the first run that gets through all its steps
    finds its commit's result unknown and the commit in fact not done (re-run), the next
    finds it unknown but done (the driver's retried commit must not apply it twice)."""

    def __init__(self) -> None:
        self.units = 0
        self.pairs = 0

    def step(self, session: Unit, operation: str, collection: str, upsert: bool) -> None:
        if session.attempt == 0 and session.steps == 1:
            self.units += 1
        if session.steps - 1 == session.attempt:
            self.pairs += 1
            raise write_conflict(operation, collection)

    def commit(self, session: Unit) -> None:
        calls = session.commit_calls = getattr(session, "commit_calls", 0) + 1
        if session.attempt not in (session.steps, session.steps + 1):
            return
        if calls == 1:
            self.pairs += 1
            raise unknown_commit_result()
        if session.attempt == session.steps:
            raise no_such_transaction()


class DuplicateAt:
    """A DuplicateKeyError at the `n`-th insert or upsert made inside a transaction (as when a
    concurrent writer committed the same key first); with n = -1 it only counts them."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0

    def step(self, session: Unit, operation: str, collection: str, upsert: bool) -> None:
        if operation != "insert_one" and not upsert:
            return
        self.seen += 1
        if self.seen - 1 == self.n:
            raise DuplicateKeyError(f"E11000 duplicate key in {collection} (injected)", code=11000)

    def commit(self, session: Unit) -> None:
        return None


READS = frozenset({"find", "find_one", "count_documents"})


class ConflictOnce:
    """A write conflict at the first `operation` on `collection` of a unit's first run (as
    when a concurrent transaction committed that document first): the unit runs again.
    Records the first write of every run, as (collection, operation)."""

    def __init__(self, operation: str, collection: str) -> None:
        self.operation, self.collection = operation, collection
        self.runs: list[list[tuple[str, str]]] = []
        self.conflicts = 0
        self._current: Unit | None = None

    def step(self, session: Unit, operation: str, collection: str, upsert: bool) -> None:
        if session is not self._current:
            self._current = session
            self.runs.append([])
        if operation not in READS:
            self.runs[-1].append((collection, operation))
        if (
            session.attempt == 0
            and (operation, collection) == (self.operation, self.collection)
            and not self.conflicts
        ):
            self.conflicts += 1
            raise write_conflict(operation, collection)

    def commit(self, session: Unit) -> None:
        return None


_GENERATED = re.compile(r"[0-9a-f]{24}")


class _Names:
    """Generated ids (ObjectId hex) renamed in order of first appearance: two runs that made
    the same documents compare equal whatever ids they drew."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return _GENERATED.sub(self._name, value)
        if isinstance(value, dict):
            return {k: self(value[k]) for k in sorted(value)}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value

    def _name(self, match: re.Match) -> str:
        return self.names.setdefault(match.group(0), f"<{len(self.names)}>")


async def database_state(db: Database, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every document of the service's collections, with generated ids renamed; `drop` names
    fields left out (`claim` is a run's private token, and a request's `fingerprint` hashes
    the generated ids it names; the answer stored beside it is compared)."""
    rename = _Names()
    state = {}
    left_out = ("claim", "fingerprint", *drop)
    for name in sorted(INDEXES):  # every collection of the service
        docs = await db.db[name].find({}).sort("_id", 1).to_list(None)
        state[name] = [rename({k: v for k, v in d.items() if k not in left_out}) for d in docs]
    return state
