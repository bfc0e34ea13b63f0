"""Ledgers written before entries carried `seq`: numbered at start-up in the order the entries
committed (the order their balance_after values chain in), a bounded batch per transaction,
each account under a lease so that two instances starting together never number one twice."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument, UpdateOne

from app.jobs.isolation import isolated
from app.kit.metrics import Metrics
from app.ledger.repository import Repositories
from app.storage.database import ACCOUNTS, LEDGER, MIGRATIONS, Session
from app.storage.documents import Doc

log = logging.getLogger("app.ledger.numbering")

DONE = "ledger_seq"  # the marker in `migrations`: later start-ups skip the account scan
NUMBER_BATCH = 1000  # entries numbered per transaction: a small fraction of its 60 s
WINDOW = 10_000  # entries read ahead while the chain has not reached them (then: oldest first)
ACCOUNTS_BATCH = 1000  # account ids read per call
LEASE = timedelta(seconds=60)  # renewed by every batch; an instance that died loses it
WAIT_SECONDS = 1.0  # between looks at accounts another instance is numbering


# (entry id, its seq, its created_at from now on, the balance after it)
Numbered = tuple[Any, int, datetime, int]


class LeaseLost(Exception):
    """Another instance took the account over (this one's lease ran out): it goes on."""


def wall() -> datetime:
    # Leases are between processes: the real time, not the service's (injectable) clock.
    return datetime.now(UTC)


async def number_legacy_ledgers(
    repos: Repositories, now: datetime, *, metrics: Metrics | None = None
) -> int:
    """Number every account whose ledger has no seq; returns the accounts this instance
    numbered. Waits for accounts another instance is numbering, so that start-up serves
    only numbered ledgers. An account that fails is logged, counted and left for the next
    start-up (the marker is then not written)."""
    db = repos.db
    if await db[MIGRATIONS].find_one({"_id": DONE}) is not None:
        return 0
    owner = f"numbering_{ObjectId()}"
    numbered, failed = 0, set()
    while pending := [a for a in await _unnumbered(repos) if a not in failed]:
        busy = False
        for account_id in pending:
            outcome = await isolated(
                metrics,
                "numbering",
                f"account {account_id}",
                partial(_number_account, repos, account_id, owner),
            )
            if outcome is None:
                failed.add(account_id)
            numbered += outcome == "numbered"
            busy = busy or outcome == "busy"
        if busy:
            await asyncio.sleep(WAIT_SECONDS)  # another instance holds some: look again
    if failed:
        log.error("%d ledgers could not be numbered; the next start-up tries again", len(failed))
        return numbered
    await db[MIGRATIONS].update_one({"_id": DONE}, {"$setOnInsert": {"done_at": now}}, upsert=True)
    if numbered:
        log.info("numbered the ledgers of %d accounts written before seq existed", numbered)
    return numbered


async def _unnumbered(repos: Repositories) -> list[str]:
    """Accounts without seq, read by _id a batch at a time (a one-time scan: the marker ends
    it for good)."""
    found: list[str] = []
    last = None
    col = repos.db[ACCOUNTS]
    while True:
        query: Doc = {} if last is None else {"_id": {"$gt": last}}
        cursor = col.find(query, {"seq": 1}).sort("_id", ASCENDING).limit(ACCOUNTS_BATCH)
        docs = await cursor.to_list(None)
        found += [d["_id"] for d in docs if "seq" not in d]
        if len(docs) < ACCOUNTS_BATCH:
            return found
        last = docs[-1]["_id"]


async def _number_account(repos: Repositories, account_id: str, owner: str) -> str:
    """ "numbered", "busy" (another live instance holds it) or "gone" (numbered meanwhile)."""
    accounts = repos.db[ACCOUNTS]
    claimed = await accounts.find_one_and_update(
        {
            "_id": account_id,
            "seq": {"$exists": False},
            "$or": [{"numbering.owner": owner}, {"numbering.until": {"$not": {"$gt": wall()}}}],
        },
        {"$set": {"numbering.owner": owner, "numbering.until": wall() + LEASE}},
        return_document=ReturnDocument.AFTER,
    )
    if claimed is None:
        still = await accounts.find_one({"_id": account_id, "seq": {"$exists": False}}, {"_id": 1})
        return "busy" if still is not None else "gone"
    progress = claimed["numbering"]
    chain = Chain(progress.get("done", 0), progress.get("balance", 0), progress.get("last_at"))
    batch: list[Numbered] = []
    try:
        # Read once, oldest first (the account_created index): entries numbered by a former
        # holder of the lease carry seq and are not read again.
        cursor = repos.db[LEDGER].find(
            {"account_id": account_id, "seq": {"$exists": False}},
            {"amount": 1, "balance_after": 1, "created_at": 1},
        )
        async for entry in cursor.sort("created_at", ASCENDING):
            batch += chain.add(entry)
            while len(batch) >= NUMBER_BATCH:
                await _commit(repos, account_id, owner, batch[:NUMBER_BATCH], chain, final=False)
                batch = batch[NUMBER_BATCH:]
        batch += chain.drain()
        while len(batch) > NUMBER_BATCH:
            await _commit(repos, account_id, owner, batch[:NUMBER_BATCH], chain, final=False)
            batch = batch[NUMBER_BATCH:]
        await _commit(repos, account_id, owner, batch, chain, final=True)
    except LeaseLost:
        return "busy"
    if chain.breaks:
        log.warning(
            "account %s: %d entries did not chain by balance_after; numbered oldest first",
            account_id,
            chain.breaks,
        )
    return "numbered"


async def _commit(
    repos: Repositories,
    account_id: str,
    owner: str,
    batch: list[Numbered],
    chain: Chain,
    *,
    final: bool,
) -> None:
    """One transaction: the account's progress (under this instance's lease) and the batch's
    seqs. The last one gives the account its seq and ends the lease."""
    _, last_seq, last_at, balance = batch[-1] if batch else (None, chain.seq, chain.last_at, 0)

    async def unit(session: Session) -> None:
        if final:
            fields: Doc = {"seq": last_seq, **({"last_entry_at": last_at} if last_at else {})}
            update: Doc = {"$set": fields, "$unset": {"numbering": ""}}
        else:
            update = {
                "$set": {
                    "numbering.done": last_seq,
                    "numbering.balance": balance,
                    "numbering.last_at": last_at,
                    "numbering.until": wall() + LEASE,
                }
            }
        held = await repos.db[ACCOUNTS].find_one_and_update(
            {"_id": account_id, "seq": {"$exists": False}, "numbering.owner": owner},
            update,
            session=session,
        )
        if held is None:
            raise LeaseLost(account_id)
        if batch:
            await repos.db[LEDGER].bulk_write(
                [
                    UpdateOne(
                        {"_id": entry_id, "account_id": account_id},
                        {"$set": {"seq": seq, "created_at": at}},
                    )
                    for entry_id, seq, at, _ in batch
                ],
                session=session,
            )

    await repos.db.transaction(unit)
    await asyncio.sleep(0)  # another instance's start-up, and requests, go between batches


class Chain:
    """Commit order from balance_after: the next entry is the oldest one whose balance before
    (balance_after - amount) is the balance so far. Entries of concurrent units share a
    created_at, or sit in the wrong order by it; the chain puts them back. An entry the chain
    never reaches (a ledger broken before) is numbered oldest first once WINDOW are waiting."""

    def __init__(self, seq: int, balance: int, last_at: datetime | None) -> None:
        self.seq, self.balance, self.last_at = seq, balance, last_at
        self.waiting: dict[int, deque[Doc]] = {}
        self.pending: dict[Any, Doc] = {}  # in read order
        self.breaks = 0

    def add(self, entry: Doc) -> list[Numbered]:
        self.waiting.setdefault(entry["balance_after"] - entry["amount"], deque()).append(entry)
        self.pending[entry["_id"]] = entry
        ready = self._advance()
        if len(self.pending) > WINDOW:
            ready += self._force()
        return ready

    def drain(self) -> list[Numbered]:
        ready: list[Numbered] = []
        while self.pending:
            ready += self._force()
        return ready

    def _advance(self) -> list[Numbered]:
        ready = []
        while queue := self.waiting.get(self.balance):
            entry = queue.popleft()
            if not queue:
                del self.waiting[self.balance]
            ready.append(self._number(entry))
        return ready

    def _force(self) -> list[Numbered]:
        entry = next(iter(self.pending.values()))
        before = entry["balance_after"] - entry["amount"]
        self.waiting[before].remove(entry)
        if not self.waiting[before]:
            del self.waiting[before]
        self.breaks += 1
        return [self._number(entry), *self._advance()]

    def _number(self, entry: Doc) -> Numbered:
        del self.pending[entry["_id"]]
        self.seq += 1
        self.balance = entry["balance_after"]
        # Never before the entry numbered before it, so the time order holds from here on.
        at = entry["created_at"]
        self.last_at = at if self.last_at is None or at > self.last_at else self.last_at
        return entry["_id"], self.seq, self.last_at, self.balance
