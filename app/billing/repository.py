"""Queries of the subscription states kept on accounts (`subscriptions.<id>`): their credited
units, guarded by what each has granted, and the monthly allocation schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import OperationFailure

from app.storage.database import ACCOUNTS, PAYMENTS, Database, Session
from app.storage.documents import Doc


def rerun(why: str) -> OperationFailure:
    """Inside a transaction what was read cannot have changed; if it ever did, the whole unit
    of work runs again on fresh reads."""
    return OperationFailure(why, code=112, details={"errorLabels": ["TransientTransactionError"]})


class SubscriptionRepository:
    def __init__(self, db: Database) -> None:
        self.col = db[ACCOUNTS]

    async def save_unit(
        self,
        session: Session,
        account_id: str,
        subscription_id: str,
        key: str,
        unit: Doc,
        *,
        granted_before: int,
    ) -> None:
        """Write a unit's record, its `granted` only ever moving up from what was read: the
        write that refuses a second grant of the same credits (never check-then-write)."""
        path = f"subscriptions.{subscription_id}.units.{key}"
        was: Any = granted_before if granted_before else {"$in": [0, None]}
        result = await self.col.update_one(
            {"_id": account_id, f"{path}.granted": was},
            {"$set": {path: unit}},
            session=session,
        )
        if result.matched_count != 1:
            raise rerun("a subscription unit's grants changed under the unit of work")

    async def forget_units(
        self, session: Session, account_id: str, subscription_id: str, keys: list[str]
    ) -> None:
        if keys:
            prefix = f"subscriptions.{subscription_id}.units."
            await self.col.update_one(
                {"_id": account_id},
                {"$unset": {prefix + key: "" for key in keys}},
                session=session,
            )


class AllocationRepository:
    """The sweep's view: an account's `allocation.next_at` is the earliest due month of its
    subscriptions' schedules (`subscriptions.<id>.allocation`)."""

    def __init__(self, db: Database) -> None:
        self.col = db[ACCOUNTS]
        self.payments = db[PAYMENTS]

    async def due(self, now: datetime, limit: int) -> list[str]:
        docs = (
            await self.col.find({"allocation.next_at": {"$lte": now}}, {"_id": 1})
            .limit(limit)
            .to_list(None)
        )
        return [doc["_id"] for doc in docs]

    async def advance(
        self,
        session: Session,
        account_id: str,
        subscription_id: str,
        schedule: Doc,
        to_month: int,
        next_at: datetime | None,
    ) -> bool:
        """Move a subscription's schedule from its current month to `to_month` (None: it is
        finished), once: a racing sweep that moved it first makes this return False."""
        path = f"subscriptions.{subscription_id}.allocation"
        update = (
            {"$set": {f"{path}.next_month": to_month, f"{path}.next_at": next_at}}
            if next_at is not None
            else {"$set": {path: None}}
        )
        result = await self.col.update_one(
            {
                "_id": account_id,
                f"{path}.next_month": schedule["next_month"],
                f"{path}.period_start": schedule["period_start"],
            },
            update,
            session=session,
        )
        return result.modified_count == 1

    async def set_next(self, session: Session, account_id: str, next_at: datetime | None) -> None:
        update = (
            {"$set": {"allocation": {"next_at": next_at}}}
            if next_at is not None
            else {"$unset": {"allocation": ""}}
        )
        await self.col.update_one({"_id": account_id}, update, session=session)

    async def add_invoice_credits(self, session: Session, invoice_id: str, credits: int) -> None:
        """A month granted for a paid invoice is part of what that payment brought (what a
        lost dispute of it claws back)."""
        await self.payments.update_one(
            {"_id": invoice_id}, {"$inc": {"credits": credits}}, session=session
        )
