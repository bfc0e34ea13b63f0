"""The call counter: every collection call the service makes (one round trip each on a replica
set), by operation and collection, and every commit. Off by default; tests and the benchmark
turn it on to pin and show what each API operation costs. It can also record each call's
arguments (`recorded`), for a test to check every filter against the shard keys."""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

COMMIT = ("commit", "-")

# The collection methods that reach the server (a cursor's find counts once: small results).
CALLS = frozenset(
    {
        "find",
        "find_one",
        "count_documents",
        "insert_one",
        "insert_many",
        "update_one",
        "update_many",
        "find_one_and_update",
        "find_one_and_delete",
        "replace_one",
        "delete_one",
        "delete_many",
        "bulk_write",
        "aggregate",
        "distinct",
    }
)


class Call(NamedTuple):
    """One recorded collection call: its filter, documents or requests are in `args`/`kwargs`
    as the caller passed them."""

    operation: str
    collection: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class CallCounter:
    def __init__(self) -> None:
        self.enabled = False
        self.counts: Counter[tuple[str, str]] = Counter()
        # Every call with its arguments while not None (tests/storage/test_shard_keys.py).
        self.recorded: list[Call] | None = None

    def add(self, operation: str, collection: str) -> None:
        if self.enabled:
            self.counts[(operation, collection)] += 1

    def record(self, call: Call) -> None:
        if self.recorded is not None:
            self.recorded.append(call)

    def reset(self) -> None:
        self.counts.clear()

    @property
    def total(self) -> int:
        """Collection calls, the commits not included."""
        return sum(n for key, n in self.counts.items() if key != COMMIT)

    @property
    def commits(self) -> int:
        return self.counts[COMMIT]

    def calls(self) -> list[str]:
        """`operation collection` for each kind of call made, with its count when more than 1."""
        return [
            f"{op} {col}" + (f" x{n}" if n > 1 else "")
            for (op, col), n in sorted(self.counts.items())
            if (op, col) != COMMIT
        ]


class CountedCollection:
    """A collection whose calls are counted (and recorded, when asked), on either engine."""

    def __init__(self, raw: Any, name: str, counter: CallCounter) -> None:
        self._raw = raw
        self._name = name
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._raw, name)
        if name not in CALLS or not (self._counter.enabled or self._counter.recorded is not None):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._counter.add(name, self._name)
            self._counter.record(Call(name, self._name, args, kwargs))
            return attr(*args, **kwargs)

        return counted
