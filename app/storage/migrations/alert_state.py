"""Alert state written before it lived on the account (on `event_streams`): moved once, at
start-up, so that a balance move reads it from the account it already has in hand."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from app.storage.database import ACCOUNTS, EVENT_STREAMS, MIGRATIONS, Database, Session

log = logging.getLogger("app.events.alert_migration")

DONE = "alert_state_on_accounts"  # the marker in `migrations`: later start-ups skip the scan
# Stream field -> account field.
MOVED = {
    "threshold_set": "low_balance_threshold_set",
    "low_balance_threshold": "low_balance_threshold",
    "low_fired": "low_fired",
    "depleted_fired": "depleted_fired",
}


async def move_alert_state(db: Database, now: datetime) -> int:
    """Copy each stream's threshold and alert flags to its account and remove them from the
    stream, one account per transaction. Idempotent (a moved stream no longer matches), and
    safe when several processes start at once. Returns the number of accounts moved."""
    if await db[MIGRATIONS].find_one({"_id": DONE}) is not None:
        return 0
    query = {"$or": [{field: {"$exists": True}} for field in MOVED]}
    ids = [doc["_id"] async for doc in db[EVENT_STREAMS].find(query, {"_id": 1})]
    moved = 0
    for account_id in ids:
        if await db.transaction(partial(_move, db=db, account_id=account_id)):
            moved += 1
    await db[MIGRATIONS].update_one({"_id": DONE}, {"$setOnInsert": {"done_at": now}}, upsert=True)
    if moved:
        log.info("moved the alert state of %d accounts from event_streams to accounts", moved)
    return moved


async def _move(session: Session, db: Database, account_id: str) -> bool:
    # Claim the stream first: another process moving it makes this write conflict.
    stream = await db[EVENT_STREAMS].find_one_and_update(
        {"_id": account_id, "$or": [{field: {"$exists": True}} for field in MOVED]},
        {"$unset": dict.fromkeys(MOVED, "")},
        session=session,
    )
    if stream is None:
        return False
    fields = {MOVED[k]: stream[k] for k in MOVED if k in stream}
    await db[ACCOUNTS].update_one({"_id": account_id}, {"$set": fields}, session=session)
    return True
