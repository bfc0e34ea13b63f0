"""The read views' queries are answered by their indexes (explain, on a real server)."""

from __future__ import annotations

import pytest
from pymongo import ASCENDING, DESCENDING

from app.accounts.timeline.repository import SOURCES, Position, _after
from app.storage.database import ACCOUNTS, LEDGER, RESERVATIONS, STRIPE_EVENTS
from tests.factories import make_account
from tests.support.settings import START
from tests.test_indexes import _winning


@pytest.mark.real_server
async def test_timeline_sources_are_index_ranges_without_a_sort(client, db):
    await make_account(client, "user_1", 10)
    for source in SOURCES:
        for rank in (1, 2, 3, 4):
            tie = 0 if rank == 3 else "x_0"  # the ledger's tie is its seq
            query = {"account_id": "user_1", **_after(source, Position(START, rank, tie))}
            stages, _ = await _winning(
                db.db[source.collection],
                query,
                [(source.time_field, DESCENDING), (source.tie_field, DESCENDING)],
            )
            assert "COLLSCAN" not in stages and "SORT" not in stages, (source, rank)


@pytest.mark.real_server
async def test_search_usage_and_hold_lists_use_indexes(client, db):
    await make_account(client, "user_1", 10)
    search = {
        "$or": [
            {"_id": {"$regex": "^us"}},
            {"stripe_customer_id": "us"},
            {"email": "us"},
            {"search_terms": {"$regex": "^us"}},
        ]
    }
    stages, _ = await _winning(db.db[ACCOUNTS], search, [("_id", ASCENDING)])
    assert "COLLSCAN" not in stages
    stages, _ = await _winning(
        db.db[ACCOUNTS], {"subscription_status": "active"}, [("_id", ASCENDING)]
    )
    assert "COLLSCAN" not in stages and "SORT" not in stages
    stages, _ = await _winning(
        db.db[ACCOUNTS],
        {"$or": [{"low_fired": True}, {"depleted_fired": True}]},
        [("_id", ASCENDING)],
    )
    assert "COLLSCAN" not in stages
    stages, _ = await _winning(
        db.db[LEDGER],
        {
            "account_id": "user_1",
            "type": {"$in": ["debit", "capture"]},
            "created_at": {"$gte": START},
        },
    )
    assert "COLLSCAN" not in stages
    for query in ({"account_id": "user_1"}, {"account_id": "user_1", "status": "held"}):
        stages, _ = await _winning(db.db[RESERVATIONS], query, [("_id", DESCENDING)])
        assert "COLLSCAN" not in stages and "SORT" not in stages
    stages, _ = await _winning(
        db.db[STRIPE_EVENTS], {"account_id": "user_1"}, [("seq", DESCENDING)]
    )
    assert "COLLSCAN" not in stages and "SORT" not in stages
