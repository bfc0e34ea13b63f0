"""Operator adjustments: positive ones add a correction grant, negative ones may leave a
deficit that refuses spending until the next grants pay it off."""

from datetime import timedelta

from app.storage.database import ACCOUNTS, GRANTS, LEDGER
from tests.factories import (
    account,
    adjust,
    assert_invariants,
    assert_problem,
    debit,
    grant,
    live_grants,
    make_account,
    reserve,
    snapshot,
)
from tests.support.settings import auth


async def test_positive_adjustment_adds_a_non_expiring_correction_grant(client, db):
    await make_account(client, "user_1", 10)

    r = await adjust(client, "user_1", 25, reason="support ticket 42")

    assert r.status_code == 201, r.text
    entry = r.json()["entry"]
    assert (entry["type"], entry["amount"], entry["balance_after"]) == ("adjustment", 25, 35)
    assert entry["description"] == "support ticket 42"
    [part] = entry["grants"]
    stored = await db[GRANTS].find_one({"_id": part["grant_id"]})
    assert (stored["kind"], stored["amount"], stored["expires_at"]) == ("correction", 25, None)
    assert stored["never_expires"] is True
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 35


async def test_negative_adjustment_takes_from_grants_in_spending_order(client, db, clock):
    await make_account(client, "user_1", 50, kind="compensation")
    soon = (await grant(client, "user_1", 20, expires_at=clock.now() + timedelta(days=1))).json()[
        "entry"
    ]["grants"][0]["grant_id"]

    r = await adjust(client, "user_1", -30)

    assert r.status_code == 201, r.text
    entry = r.json()["entry"]
    assert (entry["type"], entry["amount"], entry["balance_after"]) == ("adjustment", -30, 40)
    assert [p["amount"] for p in entry["grants"]] == [-20, -10]
    assert entry["grants"][0]["grant_id"] == soon
    assert r.json()["account"]["deficit"] == 0
    await assert_invariants(db, "user_1")


async def test_negative_adjustment_beyond_the_balance_leaves_a_deficit(client, db):
    await make_account(client, "user_1", 30)

    r = await adjust(client, "user_1", -50)

    assert r.status_code == 201, r.text
    acc = r.json()["account"]
    assert (acc["balance"], acc["deficit"], acc["available"]) == (-20, 20, -20)
    assert r.json()["entry"]["balance_after"] == -20
    stored = await db[LEDGER].find_one({"_id": r.json()["entry"]["id"]})
    assert stored["deficit_added"] == 20
    assert await live_grants(client, "user_1") == []
    await assert_invariants(db, "user_1")


async def test_debit_is_refused_while_the_balance_is_negative(client, db):
    await make_account(client, "user_1", 30)
    await adjust(client, "user_1", -50)
    before = await snapshot(db)

    r = await debit(client, "user_1", 1)

    assert_problem(r, 403, "negative_balance")
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_reservation_is_refused_while_the_balance_is_negative(client, db):
    await make_account(client, "user_1", 30)
    await adjust(client, "user_1", -50)
    before = await snapshot(db)

    r = await reserve(client, "user_1", 1)

    assert_problem(r, 403, "negative_balance")
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_next_grant_pays_off_the_deficit_first(client, db):
    await make_account(client, "user_1", 30)
    await adjust(client, "user_1", -50)

    r = await grant(client, "user_1", 100)

    assert r.status_code == 201, r.text
    acc = r.json()["account"]
    assert (acc["balance"], acc["deficit"], acc["available"]) == (80, 0, 80)
    entry = await db[LEDGER].find_one({"_id": r.json()["entry"]["id"]})
    assert (entry["amount"], entry["balance_after"], entry["deficit_paid"]) == (100, 80, 20)
    stored = await db[GRANTS].find_one({"_id": entry["grants"][0]["grant_id"]})
    assert (stored["amount"], stored["remaining"], stored["deficit_paid"]) == (100, 80, 20)
    assert (await debit(client, "user_1", 80)).status_code == 201
    await assert_invariants(db, "user_1")


async def test_a_grant_smaller_than_the_deficit_pays_part_of_it(client, db):
    await make_account(client, "user_1", 10)
    await adjust(client, "user_1", -50)

    r = await grant(client, "user_1", 15)

    acc = r.json()["account"]
    assert (acc["balance"], acc["deficit"]) == (-25, 25)
    entry = await db[LEDGER].find_one({"_id": r.json()["entry"]["id"]})
    assert entry["deficit_paid"] == 15
    assert_problem(await debit(client, "user_1", 1), 403, "negative_balance")
    await assert_invariants(db, "user_1")


async def test_positive_adjustment_pays_off_a_deficit(client, db):
    await make_account(client, "user_1", 10)
    await adjust(client, "user_1", -30)

    r = await adjust(client, "user_1", 50)

    acc = r.json()["account"]
    assert (acc["balance"], acc["deficit"]) == (30, 0)
    entry = await db[LEDGER].find_one({"_id": r.json()["entry"]["id"]})
    assert entry["deficit_paid"] == 20
    await assert_invariants(db, "user_1")


async def test_access_reports_negative_balance(client, db):
    await make_account(client, "user_1", 10)
    await adjust(client, "user_1", -20)

    r = await client.get("/v1/accounts/user_1/access", params={"cost": 0}, headers=auth("reader"))

    assert r.json() == {
        "allowed": False,
        "reason": "negative_balance",
        "available": -10,
        "cost": 0,
    }
    await assert_invariants(db, "user_1")


async def test_negative_adjustment_leaves_held_credits_to_their_hold(client, db):
    await make_account(client, "user_1", 100)
    await reserve(client, "user_1", 60)

    r = await adjust(client, "user_1", -70)

    assert r.status_code == 201, r.text
    # 40 were free; the other 30 are owed. The hold keeps its 60.
    assert [p["amount"] for p in r.json()["entry"]["grants"]] == [-40]
    acc = await account(client, "user_1")
    assert (acc["balance"], acc["reserved"], acc["deficit"]) == (30, 60, 30)
    assert_problem(await debit(client, "user_1", 1), 402, "insufficient_credits")
    await assert_invariants(db, "user_1")


async def test_adjustment_on_an_unknown_account_is_404(client, db):
    before = await snapshot(db)

    assert_problem(await adjust(client, "nobody", 10), 404, "account_not_found")
    assert_problem(await adjust(client, "nobody", -10), 404, "account_not_found")
    assert await snapshot(db) == before
    assert await db[ACCOUNTS].count_documents({}) == 0
