"""Ledgers written before entries carried `seq`: numbered once, at start-up."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from app.db import ACCOUNTS, LEDGER, MIGRATIONS, Session
from app.ledger.repository import Repositories

log = logging.getLogger("app.ledger.numbering")

DONE = "ledger_seq"  # the marker in `migrations`: later start-ups skip the account scan


async def number_legacy_ledgers(repos: Repositories, now: datetime) -> int:
    """Give every account without `seq` its entries' seq 1..n, in the order the ledger listed
    them before (by id, which is creation order), each account in one transaction. Returns the
    number of accounts numbered; idempotent, and safe when several processes start at once."""
    db = repos.db
    if await db[MIGRATIONS].find_one({"_id": DONE}) is not None:
        return 0
    numbered = 0
    cursor = db[ACCOUNTS].find({"seq": {"$exists": False}}, {"_id": 1})
    for account_id in [doc["_id"] async for doc in cursor]:
        if await db.transaction(partial(_number, repos=repos, account_id=account_id)):
            numbered += 1
    await db[MIGRATIONS].update_one({"_id": DONE}, {"$setOnInsert": {"done_at": now}}, upsert=True)
    if numbered:
        log.info("numbered the ledgers of %d accounts written before seq existed", numbered)
    return numbered


async def _number(session: Session, repos: Repositories, account_id: str) -> bool:
    db = repos.db
    # Claim the account first (another process numbering it makes this write conflict).
    claimed = await db[ACCOUNTS].find_one_and_update(
        {"_id": account_id, "seq": {"$exists": False}}, {"$set": {"seq": 0}}, session=session
    )
    if claimed is None:
        return False
    entries = (
        await db[LEDGER]
        .find({"account_id": account_id}, {"created_at": 1}, session=session)
        .sort("_id", 1)
        .to_list(None)
    )
    last = None
    for seq, entry in enumerate(entries, start=1):
        # Never before the entry listed before it, so the time order holds from here on.
        last = max(last, entry["created_at"]) if last else entry["created_at"]
        await db[LEDGER].update_one(
            {"_id": entry["_id"]}, {"$set": {"seq": seq, "created_at": last}}, session=session
        )
    fields = {"seq": len(entries), **({"last_entry_at": last} if last else {})}
    await db[ACCOUNTS].update_one({"_id": account_id}, {"$set": fields}, session=session)
    return True
