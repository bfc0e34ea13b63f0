"""A unit of work that fails halfway leaves nothing behind, and expiry commits whatever becomes
of the request that found it due (a refused request aborts only itself)."""

from datetime import timedelta

import httpx
import pytest

from app.storage.database import GRANTS, LEDGER, RESERVATIONS
from tests.factories import (
    assert_invariants,
    capture,
    debit,
    make_account,
    new_key,
    reserve,
    snapshot,
)
from tests.support.settings import auth


@pytest.fixture
async def lenient_client(app):
    """A client that gets the 500 answer instead of the app's exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_debit_whose_ledger_insert_fails_after_the_balance_moved_changes_nothing(
    client, lenient_client, db
):
    await make_account(client, "user_1", 100)
    key = new_key("d")
    # An entry already holding this (account, key) makes the debit's own ledger insert, which
    # comes after its guarded $inc of the balance and its draw from the grant, a duplicate.
    await db[LEDGER].insert_one(
        {
            "_id": "le_planted",
            "account_id": "user_1",
            "amount": 0,
            "idempotency_key": key,
            "type": "debit",
        }
    )
    before = await snapshot(db)

    r = await debit(lenient_client, "user_1", 30, key=key)

    assert r.status_code == 500, r.text
    assert await snapshot(db) == before  # balance, grant remaining, entries: all as they were
    await db[LEDGER].delete_one({"_id": "le_planted"})  # the verify after the test: clean
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 100


async def test_refused_debit_keeps_the_expiry_it_found_due(client, db, clock):
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    clock.advance(hours=1)

    r = await debit(client, "user_1", 1)

    assert r.status_code == 402, r.text
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 0
    stored = await db[GRANTS].find_one({"account_id": "user_1"})
    assert stored["expired"] is True and stored["expired_amount"] == 10
    expiries = await db[LEDGER].find({"account_id": "user_1", "type": "expiry"}).to_list(None)
    assert [e["amount"] for e in expiries] == [-10]
    assert await db["idempotency_keys"].count_documents({}) == 1  # only the grant's


async def test_refused_hold_keeps_the_expiry_it_found_due(client, db, clock):
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    clock.advance(hours=2)

    r = await reserve(client, "user_1", 5)

    assert r.status_code == 402, r.text
    acc = await assert_invariants(db, "user_1")
    assert (acc["balance"], acc["reserved"]) == (0, 0)
    assert await db[LEDGER].count_documents({"account_id": "user_1", "type": "expiry"}) == 1


async def test_refused_capture_of_an_expired_hold_leaves_it_expired(client, db, clock):
    await make_account(client, "user_1", 50)
    rid = (await reserve(client, "user_1", 20, ttl_seconds=60)).json()["id"]
    clock.advance(minutes=2)

    r = await capture(client, rid, 10)

    assert r.status_code == 409, r.text
    assert r.json()["code"] == "reservation_expired"
    hold = await db[RESERVATIONS].find_one({"_id": rid})
    assert hold["status"] == "expired"
    acc = await assert_invariants(db, "user_1")
    assert (acc["balance"], acc["reserved"]) == (50, 0)
    listed = await client.get(f"/v1/reservations/{rid}", headers=auth("worker"))
    assert listed.json()["status"] == "expired"
