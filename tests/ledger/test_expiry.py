"""Grant expiry: lazy on every touch of an account, an `expiry` entry for what was left, and the
periodic sweep for accounts nobody touches."""

from datetime import timedelta

from app.ledger.expiry import sweep
from app.storage.database import GRANTS, LEDGER
from tests.factories import (
    assert_invariants,
    debit,
    grant,
    ledger_page,
    live_grants,
    make_account,
)
from tests.support.settings import auth


def _grant_id(response) -> str:
    assert response.status_code == 201, response.text
    return response.json()["entry"]["grants"][0]["grant_id"]


async def test_expired_grant_remainder_appears_as_an_expiry_entry_on_read(client, db, clock):
    gid = _grant_id(await grant(client, "user_1", 50, expires_at=clock.now() + timedelta(hours=1)))
    await make_account(client, "user_1", 20, kind="compensation")
    await debit(client, "user_1", 15)  # all from the expiring grant: 35 left on it
    clock.advance(hours=1)

    r = await client.get("/v1/accounts/user_1", headers=auth("reader"))

    assert r.status_code == 200, r.text
    assert (r.json()["balance"], r.json()["available"]) == (20, 20)
    expiries = await db[LEDGER].find({"account_id": "user_1", "type": "expiry"}).to_list(None)
    assert len(expiries) == 1
    assert expiries[0]["amount"] == -35
    assert expiries[0]["balance_after"] == 20
    assert expiries[0]["grants"] == [{"grant_id": gid, "kind": "bonus", "amount": -35}]
    stored = await db[GRANTS].find_one({"_id": gid})
    assert stored["expired"] is True and stored["remaining"] == 0
    assert stored["expired_amount"] == 35
    await assert_invariants(db, "user_1")


async def test_grant_is_still_spendable_just_before_it_expires(client, db, clock):
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    clock.advance(minutes=59, seconds=59)

    r = await debit(client, "user_1", 10)

    assert r.status_code == 201, r.text
    await assert_invariants(db, "user_1")


async def test_expiry_is_recorded_once_however_often_the_account_is_read(client, db, clock):
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    clock.advance(hours=2)

    for _ in range(3):
        await client.get("/v1/accounts/user_1", headers=auth("reader"))
        await client.get("/v1/accounts/user_1/grants", headers=auth("reader"))

    assert await db[LEDGER].count_documents({"type": "expiry"}) == 1
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 0


async def test_expired_grant_leaves_the_grant_list(client, db, clock):
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    kept = _grant_id(await grant(client, "user_1", 5, kind="compensation"))
    clock.advance(hours=1)

    assert [g["id"] for g in await live_grants(client, "user_1")] == [kept]
    await assert_invariants(db, "user_1")


async def test_ledger_listing_shows_the_expiry_entry(client, db, clock):
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    clock.advance(hours=1)

    page = await ledger_page(client, "user_1")

    assert [(e["type"], e["amount"], e["balance_after"]) for e in page["data"]] == [
        ("expiry", -10, 0),
        ("grant", 10, 10),
    ]
    await assert_invariants(db, "user_1")


async def test_fully_spent_grant_expires_without_an_entry(client, db, clock):
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    await debit(client, "user_1", 10)
    clock.advance(hours=1)

    await client.get("/v1/accounts/user_1", headers=auth("reader"))

    assert await db[LEDGER].count_documents({"type": "expiry"}) == 0
    await assert_invariants(db, "user_1")


async def test_access_never_counts_expired_credits(client, db, clock):
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    clock.advance(hours=1)

    r = await client.get("/v1/accounts/user_1/access", params={"cost": 1}, headers=auth("reader"))

    assert r.json() == {
        "allowed": False,
        "reason": "insufficient_credits",
        "available": 0,
        "cost": 1,
    }
    await assert_invariants(db, "user_1")


async def test_sweep_expires_grants_of_accounts_nobody_touches(client, db, clock, app):
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    await make_account(client, "user_2", 10, expires_at=clock.now() + timedelta(hours=3))
    clock.advance(hours=2)

    swept = await sweep(app.state.services.repos, clock.now())

    assert swept == 1
    assert await db[LEDGER].count_documents({"account_id": "user_1", "type": "expiry"}) == 1
    assert await db[LEDGER].count_documents({"account_id": "user_2", "type": "expiry"}) == 0
    assert (await assert_invariants(db, "user_1"))["balance"] == 0
    assert (await assert_invariants(db, "user_2"))["balance"] == 10


async def test_each_expiring_grant_gets_its_own_expiry_entry(client, db, clock):
    # Expiry entries carry no Idempotency-Key: the unique key index must not make them collide.
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    await make_account(client, "user_1", 20, expires_at=clock.now() + timedelta(hours=2))
    clock.advance(hours=1)
    await client.get("/v1/accounts/user_1", headers=auth("reader"))
    clock.advance(hours=1)

    r = await client.get("/v1/accounts/user_1", headers=auth("reader"))

    assert r.status_code == 200, r.text
    expiries = await db[LEDGER].find({"type": "expiry"}).sort("_id", 1).to_list(None)
    assert [(e["amount"], e["balance_after"]) for e in expiries] == [(-10, 20), (-20, 0)]
    await assert_invariants(db, "user_1")
