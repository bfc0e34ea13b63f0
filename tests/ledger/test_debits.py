"""Debits: spending credits at once, refused when they are not there."""

from app.storage.database import ACCOUNTS, LEDGER
from tests.factories import (
    assert_invariants,
    assert_problem,
    debit,
    make_account,
    reserve,
    snapshot,
)
from tests.support.settings import auth


async def test_debit_spends_credits_and_records_an_entry(client, db):
    await make_account(client, "user_1", 100)

    r = await debit(
        client, "user_1", 30, key="gen-1", description="one image", metadata={"job": "j1"}
    )

    assert r.status_code == 201, r.text
    body = r.json()
    assert body["account"]["balance"] == 70
    assert body["account"]["available"] == 70
    entry = body["entry"]
    assert entry["type"] == "debit"
    assert entry["amount"] == -30
    assert entry["balance_after"] == 70
    assert entry["idempotency_key"] == "gen-1"
    assert entry["description"] == "one image"
    assert entry["metadata"] == {"job": "j1"}
    assert [g["amount"] for g in entry["grants"]] == [-30]
    stored = await db[LEDGER].find_one({"_id": entry["id"]})
    assert stored["amount"] == -30 and stored["account_id"] == "user_1"
    assert stored["actor"] == "worker"
    assert (await db[ACCOUNTS].find_one({"_id": "user_1"}))["balance"] == 70
    await assert_invariants(db, "user_1")


async def test_debit_of_the_whole_balance_leaves_zero(client, db):
    await make_account(client, "user_1", 40)

    r = await debit(client, "user_1", 40)

    assert r.status_code == 201, r.text
    assert r.json()["account"]["balance"] == 0
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 0


async def test_debit_beyond_the_balance_is_refused_and_writes_nothing(client, db):
    await make_account(client, "user_1", 10)
    before = await snapshot(db)

    r = await debit(client, "user_1", 11)

    assert_problem(r, 402, "insufficient_credits")
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_debit_cannot_spend_credits_set_aside_by_a_hold(client, db):
    await make_account(client, "user_1", 100)
    assert (await reserve(client, "user_1", 80)).status_code == 201
    before = await snapshot(db)

    r = await debit(client, "user_1", 21)

    assert_problem(r, 402, "insufficient_credits")
    assert await snapshot(db) == before
    r = await debit(client, "user_1", 20)
    assert r.status_code == 201, r.text
    assert (r.json()["account"]["balance"], r.json()["account"]["available"]) == (80, 0)
    await assert_invariants(db, "user_1")


async def test_debit_draws_from_several_grants_when_one_is_not_enough(client, db):
    await make_account(client, "user_1", 10)
    await make_account(client, "user_1", 20)

    r = await debit(client, "user_1", 25)

    assert r.status_code == 201, r.text
    parts = r.json()["entry"]["grants"]
    assert [p["amount"] for p in parts] == [-10, -15]
    assert len({p["grant_id"] for p in parts}) == 2
    await assert_invariants(db, "user_1")


async def test_debit_on_an_unknown_account_is_404_and_creates_nothing(client, db):
    before = await snapshot(db)

    r = await debit(client, "nobody", 1)

    assert_problem(r, 404, "account_not_found")
    assert await snapshot(db) == before
    assert await db[ACCOUNTS].find_one({"_id": "nobody"}) is None


async def test_account_answer_reports_balance_reserved_and_available(client, db):
    await make_account(client, "org:acme", 100)
    await reserve(client, "org:acme", 30)
    await debit(client, "org:acme", 20)

    r = await client.get("/v1/accounts/org:acme", headers=auth("reader"))

    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["balance"], body["reserved"], body["available"]) == (
        "org:acme",
        80,
        30,
        50,
    )
    assert body["deficit"] == 0
    assert body["subscription_status"] == "none"
    assert body["suspended_reason"] is None
    await assert_invariants(db, "org:acme")
