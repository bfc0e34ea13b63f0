"""Seeded interleavings for the concurrency tests. On the embedded engine, every collection
call and commit parks its task and the seed draws which goes on (app/storage/embedded/
turns.py): one seed replays one interleaving, many seeds explore many. On a real server the
same tests run with the server's own concurrency."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from app.storage.database import Database
from app.storage.embedded.turns import FreeRunning, Seeded
from tests.support.settings import auth

# How many interleavings each test explores (INTERLEAVING_SEEDS=500 make test: more).
SEEDS = range(int(os.environ.get("INTERLEAVING_SEEDS", "50")))
# For the scenarios of hundreds of requests (a few seconds each).
FEW_SEEDS = range(int(os.environ.get("INTERLEAVING_SEEDS_HEAVY", "3")))
RERUNS = "credit_ledger_transaction_retries_total"


@contextlib.contextmanager
def interleaved(db: Database, seed: int) -> Iterator[None]:
    """Units of work take turns drawn from `seed` (the embedded engine; a no-op otherwise)."""
    if db.engine is None:
        yield
        return
    db.engine.turns = Seeded(seed)
    try:
        yield
    finally:
        db.engine.turns = FreeRunning()


async def reruns(client) -> int:
    """Re-runs of units of work so far, as GET /metrics counts them (every label)."""
    text = (await client.get("/metrics", headers=auth("admin"))).text
    return sum(int(line.split()[-1]) for line in text.splitlines() if line.startswith(RERUNS))


def write_conflicts(db: Database) -> int | None:
    """Write conflicts the embedded engine raised so far (None on a real server)."""
    return None if db.engine is None else db.engine.stats["write_conflicts"]


def assert_contended(db: Database, reruns_seen: int) -> None:
    """Conflicts and re-runs really happened (on the embedded engine, whose turns the seeds
    draw; a real server's contention depends on its timing)."""
    if db.engine is not None:
        assert write_conflicts(db) > 0
        assert reruns_seen > 0
