"""Queries of the webhook side: the event log, customer links and remembered payments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from bson import ObjectId
from pymongo import DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from app.kit.logs import clip
from app.storage.batches import delete_in_batches
from app.storage.database import CUSTOMERS, PAYMENTS, STRIPE_EVENTS, Database, Session
from app.storage.documents import Doc
from app.stripe_events.payloads import valid_unix

MAX_STORED_ERROR = 1000
PENDING = ("received", "failed", "parked")
PURGE_BATCH = 1000  # events deleted per call
# Pending: not applied yet, or an ignored dispute to look at again once its payment is linked.
CLAIMABLE: Doc = {
    "$or": [
        {"status": {"$in": list(PENDING)}},
        {"status": "ignored", "awaits_payment": {"$type": "array"}},
    ]
}


def is_pending(doc: Doc | None) -> TypeGuard[Doc]:
    """Whether a stored event may be applied (CLAIMABLE, read in Python)."""
    if doc is None:
        return False
    status = doc.get("status")
    return status in PENDING or (
        status == "ignored" and isinstance(doc.get("awaits_payment"), list)
    )


@dataclass(frozen=True)
class EventLogQuery:
    """Which Stripe events a page of the log lists: newest first, after `starting_after`."""

    limit: int
    starting_after: str | None = None
    status: str | None = None
    type_: str | None = None
    account_id: str | None = None


class EventRepository:
    def __init__(self, db: Database) -> None:
        self.col = db[STRIPE_EVENTS]

    async def record(
        self,
        event: Doc,
        payload: str,
        now: datetime,
        *,
        error: str | None = None,
        ignored: str | None = None,
    ) -> Doc | None:
        """Store a verified event once by its id; None when it was stored before. With an
        `error` (a payload the handlers cannot use) it is stored already failed; with
        `ignored` (a note: a thin event) already ignored. Only fields of the expected type are
        copied out of the payload: the log must stay listable."""
        doc = {
            "_id": event["id"],
            "type": _text(event.get("type")),
            "created": event["created"] if valid_unix(event.get("created")) else None,
            "api_version": _text(event.get("api_version")),
            "livemode": event.get("livemode") if isinstance(event.get("livemode"), bool) else None,
            "account_id": None,
            "customer_id": None,
            "status": "failed" if error else "ignored" if ignored else "received",
            "error": _error(error),
            "note": ignored,
            "attempts": 0,
            "received_at": now,
            "processed_at": now if error or ignored else None,
            # Newest-first order of the log, also the list cursor's position.
            "seq": str(ObjectId()),
            "payload": payload,
        }
        try:
            await self.col.insert_one(doc)
        except DuplicateKeyError:
            return None
        return doc

    async def get(self, session: Session, event_id: str) -> Doc | None:
        return await self.col.find_one({"_id": event_id}, session=session)

    async def claim(self, session: Session, event_id: str, token: str) -> Doc | None:
        """Take a pending event for processing, once: the write that can be refused."""
        return await self.col.find_one_and_update(
            {"_id": event_id, **CLAIMABLE},
            {"$set": {"status": "processing", "claim": token}, "$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    async def finish(self, session: Session, event_id: str, fields: Doc) -> None:
        await self.col.update_one({"_id": event_id}, {"$set": fields}, session=session)

    async def fail(self, event_id: str, token: str, attempts: int, fields: Doc) -> None:
        """Record an attempt that did not apply (after its transaction was aborted; on the
        embedded engine the claim itself is still there, recognised by its token)."""
        if "error" in fields:
            fields = {**fields, "error": _error(fields["error"])}
        await self.col.update_one(
            {
                "_id": event_id,
                "$or": [
                    *CLAIMABLE["$or"],
                    {"status": "processing", "claim": token},
                ],
            },
            {"$set": {**fields, "attempts": attempts}},
        )

    async def purge(self, before: datetime) -> int:
        """Forget events received before `before`, whatever became of them."""
        query = {"received_at": {"$lt": before}}
        return await delete_in_batches(self.col, query, "received_at", PURGE_BATCH)

    async def parked_for(self, customer_id: str) -> list[str]:
        """Events parked until this customer is linked, oldest first."""
        return await self._parked({"customer_id": customer_id})

    async def awaiting_payment(self, payment_id: str) -> list[str]:
        """Disputes ignored until this payment intent or charge is linked, oldest first."""
        return await self._oldest_first({"status": "ignored", "awaits_payment": payment_id})

    async def _parked(self, waiting: Doc) -> list[str]:
        return await self._oldest_first({"status": "parked", **waiting})

    async def _oldest_first(self, query: Doc) -> list[str]:
        cursor = self.col.find(query, {"_id": 1})
        docs = await cursor.sort([("created", 1), ("seq", 1)]).to_list(None)
        return [d["_id"] for d in docs]

    async def needing_attention(self, account_id: str, limit: int) -> list[Doc]:
        """An account's failed and parked events, newest first (its console page)."""
        query = {"account_id": account_id, "status": {"$in": ["failed", "parked"]}}
        cursor = self.col.find(query, {"payload": 0}).sort("seq", DESCENDING).limit(limit)
        return await cursor.to_list(None)

    async def page(self, wanted: EventLogQuery) -> list[Doc]:
        query: Doc = {}
        if wanted.account_id:
            query["account_id"] = wanted.account_id
        if wanted.status:
            query["status"] = wanted.status
        if wanted.type_:
            query["type"] = wanted.type_
        if wanted.starting_after:
            anchor = await self.col.find_one({"_id": wanted.starting_after}, {"seq": 1})
            query["seq"] = {"$lt": anchor["seq"] if anchor else ""}
        cursor = (
            self.col.find(query, {"payload": 0}).sort("seq", DESCENDING).limit(wanted.limit + 1)
        )
        return await cursor.to_list(None)


def _error(error: str | None) -> str | None:
    # Built from payload text: bounded where it is stored (the handlers cut theirs shorter).
    return None if error is None else clip(error, MAX_STORED_ERROR)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) <= 255 else None


def stored_type(doc: Doc | None) -> str:
    """A stored event's type for metrics and views ("" when it has none)."""
    value = (doc or {}).get("type")
    return value if isinstance(value, str) else ""


class CustomerRepository:
    """The Stripe customer -> account mapping: one account per customer (its _id); an account
    may have several customers."""

    def __init__(self, db: Database) -> None:
        self.col = db[CUSTOMERS]

    async def account_for(self, session: Session, customer_id: str) -> str | None:
        doc = await self.col.find_one({"_id": customer_id}, session=session)
        return doc["account_id"] if doc else None

    async def link(
        self, session: Session, customer_id: str, account_id: str, now: datetime
    ) -> None:
        await self.col.insert_one(
            {"_id": customer_id, "account_id": account_id, "created_at": now}, session=session
        )


class PaymentRepository:
    """Payments that brought credits (packs, subscription invoices), for refunds and disputes."""

    def __init__(self, db: Database) -> None:
        self.col = db[PAYMENTS]

    async def get(self, session: Session, payment_id: str | None) -> Doc | None:
        """A pack's payment by its intent, or a subscription invoice's by the invoice id."""
        if payment_id is None:
            return None
        return await self.col.find_one({"_id": payment_id}, session=session)

    async def remember(self, session: Session, payment: Doc) -> None:
        fields = {k: v for k, v in payment.items() if k != "_id"}
        await self.col.update_one(
            {"_id": payment["_id"]}, {"$setOnInsert": fields}, upsert=True, session=session
        )

    async def remember_invoice(
        self,
        session: Session,
        invoice_id: str,
        fields: Doc,
        *,
        payment_intent: str | None,
        charge_id: str | None,
        now: datetime,
    ) -> Doc:
        """What a subscription invoice's payment brought, by the invoice's id: the payment
        itself may be linked before (`invoice_payment.paid`) or after. Returns it."""
        update: Doc = {
            "$set": {**fields, **_payment_ids(payment_intent, charge_id)},
            "$setOnInsert": {"clawed_back": 0, "created_at": now},
        }
        return await self.col.find_one_and_update(
            {"_id": invoice_id},
            update,
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    async def link_invoice(
        self,
        session: Session,
        invoice_id: str,
        payment_intent: str | None,
        charge_id: str | None,
        now: datetime,
    ) -> Doc:
        """Record that this payment paid this invoice; returns what is known of the invoice."""
        return await self.col.find_one_and_update(
            {"_id": invoice_id},
            {
                "$set": _payment_ids(payment_intent, charge_id),
                "$setOnInsert": {
                    "kind": "invoice",
                    "account_id": None,
                    "credits": 0,
                    "clawed_back": 0,
                    "created_at": now,
                },
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    async def find(
        self, session: Session, payment_intent: str | None, charge_id: str | None
    ) -> Doc | None:
        """The payment that brought credits: a pack's by its payment intent or charge, a
        subscription invoice's by the payment linked to it."""
        ors = [{"_id": v} for v in (payment_intent, charge_id) if v]
        ors += [{"charge_id": charge_id}] if charge_id else []
        ors += [{"payment_intent": payment_intent}] if payment_intent else []
        if not ors:
            return None
        return await self.col.find_one({"$or": ors}, session=session)

    async def add_clawback(
        self, session: Session, payment_id: str, before: int, delta: int
    ) -> bool:
        """Raise what was clawed back from `before` by `delta`, once (guarded)."""
        result = await self.col.update_one(
            {"_id": payment_id, "clawed_back": before},
            {"$inc": {"clawed_back": delta}},
            session=session,
        )
        return result.modified_count == 1


def _payment_ids(payment_intent: str | None, charge_id: str | None) -> Doc:
    ids: Doc = {}
    if payment_intent:
        ids["payment_intent"] = payment_intent
    if charge_id:
        ids["charge_id"] = charge_id
    return ids
