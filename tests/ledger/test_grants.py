"""Grants through the API: bonus, promotional and compensation credits; the account is created
on its first grant."""

from datetime import timedelta

import pytest

from app.storage.database import ACCOUNTS, GRANTS, LEDGER
from tests.factories import account, assert_invariants, debit, grant, live_grants


async def test_first_grant_creates_the_account(client, db):
    assert await db[ACCOUNTS].find_one({"_id": "org:acme"}) is None

    r = await grant(client, "org:acme", 500, key="welcome")

    assert r.status_code == 201, r.text
    acc = await account(client, "org:acme")
    assert (acc["id"], acc["balance"], acc["reserved"], acc["deficit"]) == ("org:acme", 500, 0, 0)
    assert acc["subscription_status"] == "none"
    await assert_invariants(db, "org:acme")


async def test_grant_answers_with_its_entry_and_the_account(client, db, clock):
    expires = clock.now() + timedelta(days=30)

    r = await grant(client, "user_1", 50, kind="promotional", expires_at=expires, key="promo-7")

    body = r.json()
    entry = body["entry"]
    assert (entry["type"], entry["amount"], entry["balance_after"]) == ("grant", 50, 50)
    assert (entry["source"], entry["idempotency_key"], entry["actor"]) == (
        "api",
        "promo-7",
        "admin",
    )
    [part] = entry["grants"]
    assert (part["kind"], part["amount"]) == ("promotional", 50)
    assert body["account"]["balance"] == 50
    stored = await db[GRANTS].find_one({"_id": part["grant_id"]})
    assert (stored["kind"], stored["amount"], stored["remaining"]) == ("promotional", 50, 50)
    assert stored["expires_at"].replace(tzinfo=None) == expires.replace(tzinfo=None)
    assert await db[LEDGER].count_documents({"account_id": "user_1"}) == 1
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("kind", ["bonus", "promotional", "compensation"])
async def test_each_api_grant_kind_is_accepted(client, db, kind):
    r = await grant(client, "user_1", 5, kind=kind)

    assert r.status_code == 201, r.text
    [g] = await live_grants(client, "user_1")
    assert g["kind"] == kind
    await assert_invariants(db, "user_1")


async def test_grant_listing_shows_expiry_and_source(client, db, clock):
    expires = clock.now() + timedelta(days=1)
    await grant(client, "user_1", 5, expires_at=expires)

    [g] = await live_grants(client, "user_1")

    assert (g["amount"], g["remaining"], g["source"]) == (5, 5, "api")
    assert g["expires_at"].startswith("2026-11-02T12:00:00")
    await assert_invariants(db, "user_1")


async def test_grant_with_expiry_in_another_timezone_is_stored_in_utc(client, db):
    r = await client.post(
        "/v1/accounts/user_1/grants",
        json={
            "amount": 5,
            "kind": "bonus",
            "description": "tz",
            "expires_at": "2026-11-02T14:00:00+02:00",
        },
        headers={"Authorization": "Bearer key-granter", "Idempotency-Key": "tz-2"},
    )

    assert r.status_code == 201, r.text
    [g] = await live_grants(client, "user_1")
    assert g["expires_at"][:19] == "2026-11-02T12:00:00"
    await assert_invariants(db, "user_1")


async def test_grants_used_up_by_debits_leave_the_accounts_list(client, db):
    for _ in range(30):
        assert (await grant(client, "user_9", 1)).status_code == 201
    assert len((await db[ACCOUNTS].find_one({"_id": "user_9"}))["grant_ids"]) == 30

    assert (await debit(client, "user_9", 29)).status_code == 201
    assert (await debit(client, "user_9", 1)).status_code == 201

    assert (await db[ACCOUNTS].find_one({"_id": "user_9"}))["grant_ids"] == []
    await assert_invariants(db, "user_9")
