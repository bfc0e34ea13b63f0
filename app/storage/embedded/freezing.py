"""Garbage collection for a process that holds an embedded database."""

from __future__ import annotations

import gc

# Allocations between two collections of the youngest generation (CPython's default: 700).
# Here every document, journal copy and answer is a Python object, and a busy account keeps
# dozens of requests' objects alive at once: at 700, young collections walked and promoted
# them about every request. At 10,000 a debit on the hot account (bench/hot.py, 64 clients,
# simulated latency) cost 0.64 ms of CPU instead of 0.69 (1,644 debits/s against 1,524, two
# runs each, quiet machine); the older generations keep their defaults.
YOUNG_GENERATION_THRESHOLD = 10_000


def freeze_after_full_collections() -> None:
    """For a process that holds an embedded database: every document is Python objects here,
    so each full cyclic collection walks the whole database (130 to 320 ms at 10,000 to 50,000
    ledger entries, with nothing to collect) while no request is served. What survives a full
    collection is frozen (gc.freeze), so the next one walks only what is newer. Documents hold
    no reference cycles: reference counting frees them when deleted, frozen or not. The
    youngest generation is collected every YOUNG_GENERATION_THRESHOLD allocations."""
    if _freeze_survivors not in gc.callbacks:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)
        gc.collect()  # what start-up made (modules, the app, the catalog), frozen at once:
        gc.freeze()  # else the first full collection walks it while requests wait
        gc.callbacks.append(_freeze_survivors)


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()
