"""The embedded engine's fast paths (app/embedded_fast.py) answer exactly as mongomock's scans:
by `_id`, and unique keys checked without reading the collection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pymongo.errors import DuplicateKeyError

from app.db import ACCOUNTS, LEDGER
from tests.factories import assert_invariants, grant, make_account

embedded_only = pytest.mark.skipif("os.environ.get('MONGODB_TEST_URI')",
                                   reason="the embedded engine's own paths")


def entry(n: int, account: str = "a", key: str | None = None) -> dict:
    doc = {"_id": f"le_{n}", "account_id": account, "amount": n}
    if key is not None:
        doc["idempotency_key"] = key
    return doc


@embedded_only
async def test_a_unique_key_is_refused_and_freed_again_once_its_holder_is_gone(app, db):
    col = db.db[LEDGER]
    await col.insert_one(entry(1, key="k"))
    await col.insert_one(entry(2))  # key-less entries are outside the partial index
    await col.insert_one(entry(3))
    with pytest.raises(DuplicateKeyError):
        await col.insert_one(entry(4, key="k"))
    assert await col.find_one({"_id": "le_4"}) is None
    await col.insert_one(entry(5, account="b", key="k"))  # another account's key
    await col.delete_one({"_id": "le_1"})
    await col.insert_one(entry(6, key="k"))
    await col.update_one({"_id": "le_6"}, {"$set": {"idempotency_key": "k2"}})
    await col.insert_one(entry(7, key="k"))
    with pytest.raises(DuplicateKeyError):
        await col.update_one({"_id": "le_2"}, {"$set": {"idempotency_key": "k2"}})
    assert (await col.find_one({"_id": "le_2"})).get("idempotency_key") is None


@embedded_only
async def test_lookups_by_id_still_apply_the_whole_filter(app, db):
    col = db.db[LEDGER]
    for n in range(1, 6):
        await col.insert_one(entry(n, account="a" if n % 2 else "b"))
    assert (await col.find_one({"_id": "le_1", "account_id": "b"})) is None
    assert (await col.find_one({"_id": "le_2", "account_id": "b"}))["amount"] == 2
    found = await col.find({"_id": {"$in": ["le_1", "le_2", "le_3", "le_9", "le_1"]},
                            "account_id": "a"}).to_list(None)
    assert sorted(d["_id"] for d in found) == ["le_1", "le_3"]
    found = await col.find({"account_id": {"$eq": "b", "$type": "string"}}).to_list(None)
    assert sorted(d["_id"] for d in found) == ["le_2", "le_4"]


async def test_an_account_written_before_next_due_at_existed_expires_what_is_due(
        client, db, clock):
    """Such an account counts as due once: its first read expires and sets the field."""
    await make_account(client, "user_old", 10)
    await grant(client, "user_old", 20, expires_at=clock.now() + timedelta(days=1))
    await db.db[ACCOUNTS].update_one({"_id": "user_old"}, {"$unset": {"next_due_at": ""}})
    clock.advance(days=2)
    response = await client.get("/v1/accounts/user_old",
                                headers={"Authorization": "Bearer key-reader"})
    assert response.json()["balance"] == 10
    account = await db.db[ACCOUNTS].find_one({"_id": "user_old"})
    assert account["next_due_at"].year == 9999
    await assert_invariants(db, "user_old")
