"""The queries of auto top-up: the settings on the account, the top-ups, their claim by the job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument

from app.ledger.repository import new_id
from app.storage.database import ACCOUNTS, TOPUPS, Database, Session

Doc = dict[str, Any]
OPEN = ("pending", "processing")
CLAIM_TRIES = 5  # another worker took the one found: look again, a few times per pass


class TopupRepository:
    def __init__(self, db: Database) -> None:
        self.col = db[TOPUPS]
        self.accounts = db[ACCOUNTS]

    # Settings, on the account (every balance move returns the account: the crossing reads
    # them from there, with no call of its own).

    async def save_settings(
        self, session: Session, account_id: str, fields: Doc, now: datetime
    ) -> None:
        await self.accounts.update_one(
            {"_id": account_id},
            {"$set": {**{f"auto_topup.{k}": v for k, v in fields.items()}, "updated_at": now}},
            session=session,
        )

    async def end_round(
        self, session: Session, account_id: str, fields: Doc, *, failures: str
    ) -> Doc | None:
        """The account's open top-up has ended: the next crossing opens a new round.
        `failures` is "reset" (a success), "count" (one more in a row) or "keep"."""
        update: Doc = {"$inc": {"auto_topup.round": 1}}
        if failures == "count":
            update["$inc"]["auto_topup.failures"] = 1
        sets = {f"auto_topup.{k}": v for k, v in fields.items()}
        if failures == "reset":
            sets["auto_topup.failures"] = 0
        if sets:
            update["$set"] = sets
        return await self.accounts.find_one_and_update(
            {"_id": account_id},
            update,
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    # Top-ups.

    async def record_open(
        self, session: Session, account_id: str, round_: int, trigger: Doc, now: datetime
    ) -> None:
        """The round's top-up, once: a second crossing in the same round finds it and records
        nothing (one write either way; the unique (account, round) key makes it exact)."""
        await self.col.update_one(
            {"account_id": account_id, "round": round_},
            {
                "$setOnInsert": {
                    "_id": new_id("tu"),
                    "status": "pending",
                    "trigger": trigger,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "lease_owner": None,
                    "created_at": now,
                    "updated_at": now,
                }
            },
            upsert=True,
            session=session,
        )

    async def get(self, session: Session, account_id: str, topup_id: str) -> Doc | None:
        return await self.col.find_one({"_id": topup_id, "account_id": account_id}, session=session)

    async def page(self, account_id: str, after: str | None, limit: int) -> list[Doc]:
        query: Doc = {"account_id": account_id}
        if after is not None:
            query["_id"] = {"$lt": after}
        cursor = self.col.find(query).sort("_id", DESCENDING).limit(limit + 1)
        return await cursor.to_list(limit + 1)

    async def month_total(self, account_id: str, month: str) -> tuple[int, int]:
        """(packs, amount) of the account's succeeded top-ups of `month`: the cap's count."""
        cursor = self.col.find(
            {"account_id": account_id, "month": month, "status": "succeeded"},
            {"quantity": 1, "amount": 1},
        )
        done = await cursor.to_list(None)
        return sum(d.get("quantity") or 0 for d in done), sum(d.get("amount") or 0 for d in done)

    # The job's lease: a claimed top-up is due again only when the lease ends, so one worker
    # at a time calls Stripe for it; a worker that died is replaced when its lease runs out.

    async def claim(self, now: datetime, lease_until: datetime, owner: str) -> Doc | None:
        """The next due top-up of any account, leased: found across accounts (the `due`
        index), then taken by a write that names its account (one shard) and is guarded by
        what was read, so of two workers that found the same one, one takes it."""
        for status in OPEN:
            for _ in range(CLAIM_TRIES):
                due = {"status": status, "next_attempt_at": {"$lte": now}}
                found = await self.col.find(due).sort("next_attempt_at", ASCENDING).to_list(1)
                if not found:
                    break
                claimed = await self.col.find_one_and_update(
                    {**due, "_id": found[0]["_id"], "account_id": found[0]["account_id"]},
                    {"$set": {"next_attempt_at": lease_until, "lease_owner": owner}},
                    return_document=ReturnDocument.AFTER,
                )
                if claimed is not None:
                    return claimed
        return None

    async def update_held(self, topup: Doc, owner: str, fields: Doc) -> bool:
        """Change a top-up this worker holds (outside any transaction)."""
        result = await self.col.update_one(
            {"_id": topup["_id"], "account_id": topup["account_id"], "lease_owner": owner},
            {"$set": fields},
        )
        return result.modified_count == 1

    async def finish(
        self, session: Session, topup: Doc, fields: Doc, *, statuses: tuple[str, ...] = OPEN
    ) -> Doc | None:
        """End a top-up (succeeded, failed, canceled) if it is still in one of `statuses`."""
        return await self.col.find_one_and_update(
            {
                "_id": topup["_id"],
                "account_id": topup["account_id"],
                "status": {"$in": list(statuses)},
            },
            {"$set": {**fields, "lease_owner": None, "next_attempt_at": None}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
