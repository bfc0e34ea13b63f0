"""Queries of the read-only views: account search, an account's holds, and spending per day."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING

from app.kit.paging import newest_first
from app.storage.collection import ResultCursor
from app.storage.database import ACCOUNTS, LEDGER, RESERVATIONS, Database
from app.storage.documents import Doc

SPENDING_TYPES = ("debit", "capture")


async def _all(answer: Awaitable[ResultCursor]) -> list[Doc]:
    return await (await answer).to_list(None)


class ReadRepository:
    def __init__(self, db: Database) -> None:
        self.accounts = db[ACCOUNTS]
        self.ledger = db[LEDGER]
        self.reservations = db[RESERVATIONS]

    async def accounts_page(
        self,
        *,
        q: str | None,
        status: str | None,
        among: list[str] | None,
        starting_after: str | None,
        limit: int,
    ) -> list[Doc]:
        """Accounts by id, oldest id first. `q` matches an id prefix, a Stripe customer id, an
        email, or a prefix of a search term (name, a word of it, `key:value` of metadata),
        each branch with its index; `among` narrows to the given ids."""
        query: Doc = {}
        if q:
            query["$or"] = [
                {"_id": {"$regex": "^" + re.escape(q)}},
                {"stripe_customer_id": q},
                {"email": q.lower()},
                {"search_terms": {"$regex": "^" + re.escape(q.lower())}},
            ]
        if status:
            query["subscription_status"] = status
        ids: Doc = {}
        if among is not None:
            ids["$in"] = among
        if starting_after:
            ids["$gt"] = starting_after
        if ids:
            query["_id"] = ids
        cursor = self.accounts.find(query).sort("_id", ASCENDING).limit(limit)
        return await cursor.to_list(None)

    async def low_balance_ids(self, *, starting_after: str | None, limit: int) -> list[str]:
        """Accounts whose low-balance or depleted alert is on (fired and not recovered)."""
        query: Doc = {"$or": [{"low_fired": True}, {"depleted_fired": True}]}
        if starting_after:
            query["_id"] = {"$gt": starting_after}
        cursor = self.accounts.find(query, {"_id": 1}).sort("_id", ASCENDING).limit(limit)
        return [d["_id"] for d in await cursor.to_list(None)]

    async def reservations_page(
        self, account_id: str, *, status: str | None, starting_after: str | None, limit: int
    ) -> list[Doc]:
        query = {"account_id": account_id}
        return await newest_first(self.reservations, query, status, starting_after, limit)

    async def spending_by_day(
        self,
        account_id: str,
        start: datetime,
        end: datetime,
        metadata_key: str | None,
        by_meter: bool = False,
    ) -> list[Doc]:
        """Debits and captures in [start, end) summed per UTC day (and metadata value, or
        meter with its quantity): the match is a range of the (account_id, type, created_at)
        index, the sums are the server's. Amounts are negative: spending is their negated sum."""
        value: Any = {"$ifNull": [f"$metadata.{metadata_key}", None]} if metadata_key else None
        if by_meter:
            value = {"$ifNull": ["$usage.meter", None]}
        pipeline = [
            {
                "$match": {
                    "account_id": account_id,
                    "type": {"$in": list(SPENDING_TYPES)},
                    "created_at": {"$gte": start, "$lt": end},
                }
            },
            {
                "$group": {
                    "_id": {
                        "day": {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}},
                        "value": value,
                    },
                    "amount": {"$sum": "$amount"},
                    "operations": {"$sum": 1},
                    "quantity": {"$sum": {"$ifNull": ["$usage.quantity", 0]}},
                }
            },
        ]
        return await _all(self.ledger.aggregate(pipeline))
