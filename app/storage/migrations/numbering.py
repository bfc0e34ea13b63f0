"""Ledgers written before entries carried `seq`: numbered at start-up in the order the entries
committed (the order their balance_after values chain in), read a bounded window at a time (an
index range after the last one read) and written a bounded batch per transaction, each account
under a lease so that two instances starting together never number one twice, and so that one
that died is resumed from where it stopped."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

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
READ_BATCH = 1000  # entries read per window: one bounded range of READ_INDEX
LOOK_AHEAD = 10_000  # entries read ahead while the chain has not reached them (then: oldest first)
ACCOUNTS_BATCH = 1000  # account ids read per call
LEASE = timedelta(seconds=60)  # renewed by every batch; an instance that died loses it
WAIT_SECONDS = 1.0  # between looks at accounts another instance is numbering


# The order windows are read in, and the index that serves it (app/storage/database.py): an
# account's entries by the time they were written, ties by _id (a string for every entry).
READ_ORDER = [("created_at", ASCENDING), ("_id", ASCENDING)]
READ_INDEX = "account_created_id"

# (entry id, its seq, its created_at from now on, the balance after it)
Numbered = tuple[Any, int, datetime, int]
# An entry's place in READ_ORDER: (created_at, _id).
Position = tuple[datetime, Any]


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
    # Where a former holder's reading resumes (inclusive): its oldest entry not yet committed.
    resume = progress.get("from")
    window = Window(account_id, None if resume is None else (resume["at"], resume["id"]))
    batch: list[Numbered] = []
    try:
        while True:
            entries = await window.read(repos)
            for entry in entries:
                batch += chain.add(entry)
            if window.ended:
                batch += chain.drain()
            while len(batch) >= NUMBER_BATCH and (len(batch) > NUMBER_BATCH or not window.ended):
                await _commit(repos, owner, window.saved(batch[:NUMBER_BATCH]), chain, final=False)
                batch = batch[NUMBER_BATCH:]
            if window.ended:
                await _commit(repos, owner, window.saved(batch), chain, final=True)
                break
    except LeaseLost:
        return "busy"
    if chain.breaks:
        log.warning(
            "account %s: %d entries did not chain by balance_after; numbered oldest first",
            account_id,
            chain.breaks,
        )
    return "numbered"


def window_query(account_id: str, start: Position | None, *, inclusive: bool) -> Doc:
    """The account's entries not numbered yet, from `start` on in READ_ORDER: one range of
    READ_INDEX (created_at from start's, the _id tie-break checked on the index's keys)."""
    query: Doc = {"account_id": account_id, "seq": {"$exists": False}}
    if start is not None:
        at, entry_id = start
        query["created_at"] = {"$gte": at}
        query["$or"] = [
            {"created_at": {"$gt": at}},
            {"_id": {"$gte" if inclusive else "$gt": entry_id}},
        ]
    return query


class Window:
    """The account's entries read a window at a time, and those read but not committed yet:
    the oldest of them is where a successor resumes if this instance dies (entries numbered
    since then carry seq and are not read again; those waiting for the chain are)."""

    def __init__(self, account_id: str, start: Position | None) -> None:
        self.account_id = account_id
        self.start, self.inclusive = start, True
        self.ended = False
        self.unsaved: OrderedDict[Any, Position] = OrderedDict()

    async def read(self, repos: Repositories) -> list[Doc]:
        query = window_query(self.account_id, self.start, inclusive=self.inclusive)
        cursor = repos.db[LEDGER].find(query, {"amount": 1, "balance_after": 1, "created_at": 1})
        entries = await cursor.sort(READ_ORDER).limit(READ_BATCH).to_list(None)
        for entry in entries:
            self.unsaved[entry["_id"]] = (entry["created_at"], entry["_id"])
        if entries:
            self.start, self.inclusive = self.unsaved[entries[-1]["_id"]], False
        self.ended = len(entries) < READ_BATCH
        return entries

    def saved(self, batch: list[Numbered]) -> Saved:
        """`batch` with the position a successor would resume from once it is committed."""
        for entry_id, *_ in batch:
            del self.unsaved[entry_id]
        oldest = next(iter(self.unsaved.values()), self.start)
        return Saved(self.account_id, batch, oldest)


class Saved(NamedTuple):
    """A batch to commit, and where a successor resumes reading once it is committed."""

    account_id: str
    batch: list[Numbered]
    resume: Position | None


async def _commit(
    repos: Repositories, owner: str, saved: Saved, chain: Chain, *, final: bool
) -> None:
    """One transaction: the account's progress (under this instance's lease) and the batch's
    seqs. The last one gives the account its seq and ends the lease."""
    account_id, batch = saved.account_id, saved.batch
    _, last_seq, last_at, balance = batch[-1] if batch else (None, chain.seq, chain.last_at, 0)
    resume = None if saved.resume is None else {"at": saved.resume[0], "id": saved.resume[1]}

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
                    "numbering.from": resume,
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
    never reaches (a ledger broken before) is numbered oldest first once LOOK_AHEAD wait."""

    def __init__(self, seq: int, balance: int, last_at: datetime | None) -> None:
        self.seq, self.balance, self.last_at = seq, balance, last_at
        self.waiting: dict[int, deque[Doc]] = {}
        self.pending: OrderedDict[Any, Doc] = OrderedDict()  # in read order
        self.breaks = 0

    def add(self, entry: Doc) -> list[Numbered]:
        self.waiting.setdefault(entry["balance_after"] - entry["amount"], deque()).append(entry)
        self.pending[entry["_id"]] = entry
        ready = self._advance()
        if len(self.pending) > LOOK_AHEAD:
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
