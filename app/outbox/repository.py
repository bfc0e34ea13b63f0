"""Queries of the outbox: events, each account's event stream (sequence and the reason access
was suspended), its alert state (on the account), and what the notice sweep looks for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument

from app.storage.batches import delete_in_batches, in_batches
from app.storage.database import (
    ACCOUNTS,
    EVENT_STREAMS,
    EVENTS,
    GRANTS,
    STRIPE_EVENTS,
    Database,
    Session,
)
from app.storage.documents import Doc

# Events about no account (operator alerts on Stripe events) are numbered in their own stream;
# no account id contains a space.
OPERATOR_STREAM = " operator"
# Documents a purge deletes per call.
PURGE_BATCH = 1000


# An ObjectId holds seconds since 1970 in 32 bits: a time outside is clamped, not a 500.
_FIRST_ID_TIME = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_ID_TIME = _FIRST_ID_TIME + timedelta(seconds=2**32 - 1)


def event_id_at(when: datetime) -> str:
    """The smallest event id created at or after `when` (ids sort by creation time)."""
    return f"evt_{ObjectId.from_datetime(min(max(when, _FIRST_ID_TIME), _LAST_ID_TIME))}"


class OutboxRepository:
    def __init__(self, db: Database) -> None:
        self.events = db[EVENTS]
        self.streams = db[EVENT_STREAMS]
        self.db = db

    async def stream(self, session: Session, account_id: str | None) -> Doc:
        found = await self.streams.find_one({"_id": account_id or OPERATOR_STREAM}, session=session)
        return found or {}

    async def append(
        self,
        session: Session,
        account_id: str | None,
        drafts: list[tuple],
        state: Doc,
        now: datetime,
    ) -> list[Doc]:
        """Write events numbered in the account's stream, and its alert state, in the caller's
        transaction: concurrent writers of one stream conflict, and one is run again."""
        update: Doc = {"$set": {**state, "updated_at": now}}
        if drafts:
            update["$inc"] = {"seq": len(drafts)}
        stream = await self.streams.find_one_and_update(
            {"_id": account_id or OPERATOR_STREAM},
            update,
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        first = stream.get("seq", 0) - len(drafts) + 1
        docs = [
            {
                "_id": f"evt_{ObjectId()}",
                "type": type_,
                "account_id": account_id,
                "account_seq": first + i,
                "created_at": now,
                "data": data,
                "dispatched": False,
            }
            for i, (type_, data) in enumerate(drafts)
        ]
        for doc in docs:  # one by one: each insert is journaled on the embedded engine
            await self.events.insert_one(doc, session=session)
        return docs

    async def set_alert_state(self, session: Session, account_id: str, state: Doc) -> None:
        """The account's alert flags (low_fired, depleted_fired), and its own threshold when
        `PUT .../alerts` sets one: on the account document, which every balance move returns,
        so that a move crossing nothing reads nothing more. Not `updated_at`: no field of the
        account's API object changes."""
        await self.db[ACCOUNTS].update_one({"_id": account_id}, {"$set": state}, session=session)

    async def get(self, event_id: str, account_id: str | None) -> Doc | None:
        """By its account when known (a list across accounts names the event alone)."""
        query = (
            {"_id": event_id} if account_id is None else {"_id": event_id, "account_id": account_id}
        )
        return await self.events.find_one(query)

    async def page(
        self,
        *,
        account_id: str | None,
        type_: str | None,
        created_gte: datetime | None,
        after: Doc | None,
        limit: int,
    ) -> list[Doc]:
        """Oldest first: by account_seq within an account, by id (creation) across accounts."""
        query: Doc = {}
        if type_:
            query["type"] = type_
        if created_gte:
            query["created_at"] = {"$gte": created_gte}
        if account_id is not None:
            query["account_id"] = account_id
            if after is not None:
                query["account_seq"] = {"$gt": after["account_seq"]}
            order = [("account_seq", ASCENDING)]
        else:
            bounds: Doc = {}
            if after is not None:
                bounds["$gt"] = after["_id"]
            if created_gte:
                bounds["$gte"] = event_id_at(created_gte)  # lets the _id index bound the scan
            if bounds:
                query["_id"] = bounds
            order = [("_id", ASCENDING)]
        cursor = self.events.find(query).sort(order).limit(limit + 1)
        return await cursor.to_list(None)

    # The dispatcher's side of the outbox.

    async def undispatched(self, limit: int) -> list[Doc]:
        cursor = self.events.find({"dispatched": False}).sort("_id", ASCENDING).limit(limit)
        return await cursor.to_list(None)

    async def mark_dispatched(self, event_ids: list[str]) -> None:
        # Across accounts, as the scan that found them (the undispatched index).
        await self.events.update_many(
            {"dispatched": False, "_id": {"$in": event_ids}}, {"$set": {"dispatched": True}}
        )

    async def oldest_undispatched(self) -> Doc | None:
        return await self.events.find_one({"dispatched": False}, sort=[("_id", ASCENDING)])

    async def purge(self, before: datetime) -> int:
        query = {"created_at": {"$lt": before}, "dispatched": True}
        return await delete_in_batches(self.events, query, "created_at", PURGE_BATCH)

    # What the notice sweep looks for (each marked once, in the transaction of its event).

    async def grants_expiring(self, now: datetime, horizon: datetime, limit: int) -> list[Doc]:
        query = {
            "expired": False,
            "expiry_noticed_at": None,
            "never_expires": False,
            "expires_at": {"$gt": now, "$lte": horizon},
            "$or": [{"remaining": {"$gt": 0}}, {"held": {"$gt": 0}}],
        }
        return await self.db[GRANTS].find(query).limit(limit).to_list(None)

    async def mark_expiry_noticed(self, session: Session, grant_id: str, now: datetime) -> bool:
        result = await self.db[GRANTS].update_one(
            {"_id": grant_id, "expiry_noticed_at": None},
            {"$set": {"expiry_noticed_at": now}},
            session=session,
        )
        return result.modified_count == 1

    def grace_ended(self, now: datetime, size: int) -> AsyncIterator[list[Doc]]:
        """Every past-due account whose grace has ended, `size` at a time (told or not: the
        stream says which were told)."""
        query = {"subscription_status": "past_due", "grace_until": {"$lte": now}}
        return in_batches(self.db[ACCOUNTS], query, "grace_until", size, {"_id": 1})

    async def streams_of(self, account_ids: list[str]) -> dict[str, Doc]:
        docs = await self.streams.find({"_id": {"$in": account_ids}}).to_list(None)
        return {d["_id"]: d for d in docs}

    async def stripe_events_to_alert(self, parked_before: datetime, limit: int) -> list[Doc]:
        failed = {"status": "failed", "alerted_at": None}
        parked = {
            "status": "parked",
            "alerted_at": None,
            "parked_alerted_at": None,
            "received_at": {"$lte": parked_before},
        }
        found: list[Doc] = []
        for query in (failed, parked):
            found += (
                await self.db[STRIPE_EVENTS].find(query, {"payload": 0}).limit(limit).to_list(None)
            )
        return found

    async def mark_stripe_alerted(self, session: Session, event: Doc, now: datetime) -> bool:
        field = "alerted_at" if event["status"] == "failed" else "parked_alerted_at"
        result = await self.db[STRIPE_EVENTS].update_one(
            {"_id": event["_id"], "status": event["status"], field: None},
            {"$set": {field: now}},
            session=session,
        )
        return result.modified_count == 1
