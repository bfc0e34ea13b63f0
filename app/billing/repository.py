"""Queries of the monthly allocation schedule kept on accounts (`allocation`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.db import ACCOUNTS, PAYMENTS, Database, Session

Doc = dict[str, Any]


class AllocationRepository:
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
        schedule: Doc,
        to_month: int,
        next_at: datetime | None,
    ) -> bool:
        """Move the schedule from its current month to `to_month` (None: it is finished), once:
        a racing sweep that moved it first makes this return False."""
        update = (
            {"$set": {"allocation.next_month": to_month, "allocation.next_at": next_at}}
            if next_at is not None
            else {"$unset": {"allocation": ""}}
        )
        result = await self.col.update_one(
            {
                "_id": account_id,
                "allocation.next_month": schedule["next_month"],
                "allocation.period_start": schedule["period_start"],
            },
            update,
            session=session,
        )
        return result.modified_count == 1

    async def add_invoice_credits(self, session: Session, invoice_id: str, credits: int) -> None:
        """A month granted for a paid invoice is part of what that payment brought (what a
        lost dispute of it claws back)."""
        await self.payments.update_one(
            {"_id": invoice_id}, {"$inc": {"credits": credits}}, session=session
        )
