"""Ledgers written before entries carried seq are numbered at start-up: in bounded batches, in
commit order (the balance_after chain), and once when two instances start together."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx
import pytest
from bson import ObjectId

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.kit.metrics import JOB_FAILURES, Metrics
from app.ledger.repository import Repositories
from app.storage.database import ACCOUNTS, LEDGER, MIGRATIONS
from app.storage.migrations.numbering import NUMBER_BATCH, number_legacy_ledgers
from tests.support.settings import START, auth

pytestmark = pytest.mark.slow  # numbers a ledger of tens of thousands of entries

# 200,000 in the acceptance run (NUMBERING_ENTRIES=200000, docs/scaling.md); the suite numbers
# 20,000: twenty batches, the same code paths, a tenth of the minutes on the embedded engine.
ENTRIES = int(os.environ.get("NUMBERING_ENTRIES", 20_000))


def _old_ledger(account_id: str, count: int) -> tuple[list[dict], int]:
    """As an older version left a busy account: the entries of two concurrent units share an
    instant, ids taken before commit disagree with the commit order, and in every third pair
    the unit that committed first read the clock last."""
    ids = sorted(str(ObjectId()) for _ in range(count))
    entries, balance = [], 0
    for n in range(count):
        amount = -1 if n % 3 == 2 else 2
        balance += amount
        pair, second = divmod(n, 2)
        late = pair % 3 == 0 and not second
        entries.append(
            {
                "_id": f"le_{ids[n ^ 1] if n ^ 1 < count else ids[n]}",
                "account_id": account_id,
                "type": "adjustment",
                "amount": amount,
                "balance_after": balance,
                "grants": [],
                "source": "api",
                "metadata": {},
                "created_at": START + timedelta(milliseconds=pair + late),
            }
        )
    return entries, balance


async def _store_old_account(db, account_id: str, count: int, clock_ahead: int = -1) -> int:
    """The account and its old ledger; the entry committed `clock_ahead`-th (if any) was
    written by a process whose clock ran ten minutes ahead, so it is read last."""
    entries, balance = _old_ledger(account_id, count)
    if clock_ahead >= 0:
        entries[clock_ahead]["created_at"] += timedelta(minutes=10)
    await db.ensure_indexes()  # the embedded engine ignores a partial filter for old documents
    await db.db[ACCOUNTS].insert_one(
        {
            "_id": account_id,
            "balance": balance,
            "reserved": 0,
            "deficit": 0,
            "subscription_status": "none",
            "open_disputes": [],
            "created_at": START,
            "updated_at": START,
        }
    )
    for first in range(0, count, 20_000):
        await db.db[LEDGER].insert_many(entries[first : first + 20_000])
    return balance


async def _start(db, settings) -> dict:
    """One instance's start-up, then its answer for the account's newest entries."""
    app = create_app(settings, db=db, clock=FrozenClock(START), sweeper=False)
    async with app.router.lifespan_context(app):
        # It serves at once, 503 until numbered (a start may outlast START_WAIT_SECONDS).
        await app.state.services.readiness.became_ready.wait()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            r = await c.get("/v1/accounts/old_1/ledger", headers=auth("reader"))
            return r.json()


async def test_two_instances_number_an_old_ledger_once_in_commit_order_in_bounded_batches(
    db, settings
):
    balance = await _store_old_account(db, "old_1", ENTRIES)
    db.calls.reset()

    first, second = await asyncio.gather(_start(db, settings), _start(db, settings))

    assert first == second
    assert first["data"][0]["seq"] == ENTRIES
    assert first["data"][0]["balance_after"] == balance
    account = await db.db[ACCOUNTS].find_one({"_id": "old_1"})
    assert (account["seq"], "numbering" in account) == (ENTRIES, False)
    entries = await db.db[LEDGER].find({"account_id": "old_1"}).to_list(None)
    entries.sort(key=lambda e: e["seq"])
    assert [e["seq"] for e in entries] == list(range(1, ENTRIES + 1))
    running = 0
    for entry in entries:  # commit order: each balance_after follows from the one before
        running += entry["amount"]
        assert entry["balance_after"] == running, entry
    assert all(a["created_at"] <= b["created_at"] for a, b in pairwise(entries))
    # Bounded: a transaction per NUMBER_BATCH entries (and the two instances' start-ups).
    batches = db.calls.counts[("bulk_write", LEDGER)]
    assert batches == ENTRIES // NUMBER_BATCH
    assert await db.db[MIGRATIONS].count_documents({"_id": "ledger_seq"}) == 1


class DiesInBatch:
    """The numbering instance dies in its `n`-th transaction (a plan of the embedded engine's
    faults): what it committed before stays, that transaction is undone."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.batches = 0

    def step(self, session, operation: str, collection: str, upsert: bool) -> None:
        if (operation, collection) == ("bulk_write", LEDGER):
            self.batches += 1
            if self.batches == self.n:
                raise RuntimeError("the instance died")

    def commit(self, session) -> None:
        pass


@pytest.mark.embedded_only  # the instance dies by the engine's fault injection
async def test_numbering_resumes_where_an_instance_that_died_stopped(db):
    count = 5 * NUMBER_BATCH
    # The chain waits for one entry from the second window to the last: the first instance
    # dies with entries read but not committed, and its successor must read them again.
    await _store_old_account(db, "old_1", count, clock_ahead=NUMBER_BATCH + NUMBER_BATCH // 2)
    repos, metrics = Repositories(db), Metrics()
    db.engine.faults = DiesInBatch(3)

    assert await number_legacy_ledgers(repos, START, metrics=metrics) == 0

    db.engine.faults = None
    assert metrics.value(JOB_FAILURES, job="numbering") == 1
    progress = (await db.db[ACCOUNTS].find_one({"_id": "old_1"}))["numbering"]
    assert progress["done"] == 2 * NUMBER_BATCH
    numbered = {
        e["_id"]: e["seq"]
        async for e in db.db[LEDGER].find({"account_id": "old_1", "seq": {"$exists": True}})
    }
    assert sorted(numbered.values()) == list(range(1, 2 * NUMBER_BATCH + 1))
    # Everything before where a successor resumes (in the order windows are read) is numbered.
    resume = (progress["from"]["at"], progress["from"]["id"])
    unnumbered = db.db[LEDGER].find({"account_id": "old_1", "seq": {"$exists": False}})
    assert all((e["created_at"], e["_id"]) >= resume for e in await unnumbered.to_list(None))

    # Its lease runs out (60 s after its last batch); the next start-up takes the account over.
    await db.db[ACCOUNTS].update_one(
        {"_id": "old_1"}, {"$set": {"numbering.until": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    db.calls.reset()
    assert await number_legacy_ledgers(repos, START, metrics=metrics) == 1

    assert db.calls.counts[("bulk_write", LEDGER)] == 3  # the three batches left, no more
    entries = await db.db[LEDGER].find({"account_id": "old_1"}).to_list(None)
    assert {e["_id"]: e["seq"] for e in entries if e["_id"] in numbered} == numbered
    entries.sort(key=lambda e: e["seq"])
    assert [e["seq"] for e in entries] == list(range(1, count + 1))
    running = 0
    for entry in entries:
        running += entry["amount"]
        assert entry["balance_after"] == running, entry
    # Raised to the time of the entry before it.
    assert all(a["created_at"] <= b["created_at"] for a, b in pairwise(entries))
    account = await db.db[ACCOUNTS].find_one({"_id": "old_1"})
    assert (account["seq"], "numbering" in account) == (count, False)
