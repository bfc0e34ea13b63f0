"""Queries of webhook endpoints and their deliveries (one per event and endpoint)."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from app.kit.paging import newest_first
from app.storage.batches import delete_in_batches
from app.storage.database import DELIVERIES, ENDPOINT_REGISTRY, ENDPOINTS, Database, Session
from app.storage.documents import Doc

PURGE_BATCH = 1000  # deliveries deleted per call


class EndpointRepository:
    def __init__(self, db: Database) -> None:
        self.col = db[ENDPOINTS]
        self.registry = db[ENDPOINT_REGISTRY]

    async def insert(self, endpoint: Doc, session: Session = None) -> None:
        await self.col.insert_one(endpoint, session=session)

    async def count_registered(self, session: Session) -> int:
        """How many endpoints there are, after touching the registry document: of two
        registrations at once, one conflicts and runs again, and then counts the other."""
        await self.registry.update_one(
            {"_id": "endpoints"}, {"$inc": {"registrations": 1}}, upsert=True, session=session
        )
        # All ids start with "we_": a range on _id, answered by its index (at most the cap).
        return await self.col.count_documents({"_id": {"$gte": "we_"}}, session=session)

    async def get(self, endpoint_id: str) -> Doc | None:
        return await self.col.find_one({"_id": endpoint_id})

    async def page(self, *, limit: int, starting_after: str | None) -> list[Doc]:
        query = {"_id": {"$gt": starting_after}} if starting_after else {}
        cursor = self.col.find(query).sort("_id", ASCENDING).limit(limit + 1)
        return await cursor.to_list(None)

    async def enabled(self) -> list[Doc]:
        return await self.col.find({"disabled": False}).to_list(None)

    async def update(self, endpoint_id: str, fields: Doc, now: datetime) -> Doc | None:
        return await self.col.find_one_and_update(
            {"_id": endpoint_id},
            {"$set": {**fields, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def delete(self, endpoint_id: str) -> bool:
        return (await self.col.delete_one({"_id": endpoint_id})).deleted_count == 1

    async def mark_failing(self, endpoint_id: str, now: datetime) -> Doc | None:
        """Remember when the endpoint started failing (kept until a success)."""
        await self.col.update_one(
            {"_id": endpoint_id, "failing_since": None}, {"$set": {"failing_since": now}}
        )
        return await self.get(endpoint_id)

    async def mark_succeeding(self, endpoint_id: str) -> None:
        await self.col.update_one(
            {"_id": endpoint_id, "failing_since": {"$ne": None}}, {"$set": {"failing_since": None}}
        )


class DeliveryRepository:
    def __init__(self, db: Database) -> None:
        self.col = db[DELIVERIES]

    async def insert(self, delivery: Doc) -> bool:
        """One delivery per (event, endpoint): a second dispatcher's insert is refused."""
        try:
            await self.col.insert_one(delivery)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, delivery_id: str) -> Doc | None:
        return await self.col.find_one({"_id": delivery_id})

    async def claim(self, now: datetime, lease_until: datetime, owner: str) -> Doc | None:
        """Take the next due delivery with a lease: its next attempt moves to the lease's end,
        so no other dispatcher takes it until then (or until this one lets it go)."""
        return await self.col.find_one_and_update(
            {"status": "pending", "next_attempt_at": {"$lte": now}},
            {"$set": {"next_attempt_at": lease_until, "lease_owner": owner}},
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def finish(
        self,
        delivery_id: str,
        owner: str,
        fields: Doc,
        attempt: Doc | None,
    ) -> bool:
        """Record an attempt and what follows; only the lease holder may."""
        update: Doc = {"$set": {**fields, "lease_owner": None}}
        if attempt is not None:
            update["$inc"] = {"attempts": 1}
            update["$push"] = {"log": {"$each": [attempt], "$slice": -20}}
        result = await self.col.update_one({"_id": delivery_id, "lease_owner": owner}, update)
        return result.modified_count == 1

    async def release(self, delivery_id: str, owner: str, now: datetime) -> None:
        """Give a claimed delivery back untried (shutdown): due again at once."""
        await self.col.update_one(
            {"_id": delivery_id, "lease_owner": owner},
            {"$set": {"next_attempt_at": now, "lease_owner": None}},
        )

    async def requeue(self, delivery_id: str, now: datetime) -> Doc | None:
        """Due again now, with a fresh schedule; None while a dispatcher holds it under a live
        lease (it is being sent: a second sender would deliver it twice)."""
        return await self.col.find_one_and_update(
            {
                "_id": delivery_id,
                "$or": [{"lease_owner": None}, {"next_attempt_at": {"$lte": now}}],
            },
            {
                "$set": {
                    "status": "pending",
                    "next_attempt_at": now,
                    "first_attempt_at": None,
                    "lease_owner": None,
                }
            },
            return_document=ReturnDocument.AFTER,
        )

    async def page(
        self, endpoint_id: str, *, status: str | None, limit: int, starting_after: str | None
    ) -> list[Doc]:
        query = {"endpoint_id": endpoint_id}
        return await newest_first(self.col, query, status, starting_after, limit)

    async def oldest_pending(self) -> Doc | None:
        return await self.col.find_one(
            {"status": "pending"}, sort=[("event_created_at", ASCENDING)]
        )

    async def purge(self, before: datetime) -> int:
        query = {"created_at": {"$lt": before}, "status": {"$ne": "pending"}}
        return await delete_in_batches(self.col, query, "created_at", PURGE_BATCH)
