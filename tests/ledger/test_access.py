"""The access decision: allowed or not, and always why."""

from tests.factories import (
    adjust,
    assert_invariants,
    assert_problem,
    make_account,
    reserve,
    snapshot,
)
from tests.support.settings import auth


async def _access(client, account_id: str, **params):
    return await client.get(
        f"/v1/accounts/{account_id}/access", params=params, headers=auth("reader")
    )


async def test_access_is_allowed_when_available_covers_the_cost(client, db):
    await make_account(client, "user_1", 10)

    r = await _access(client, "user_1", cost=10)

    assert r.status_code == 200, r.text
    assert r.json() == {"allowed": True, "reason": "ok", "available": 10, "cost": 10}
    await assert_invariants(db, "user_1")


async def test_access_is_refused_when_the_cost_exceeds_available(client, db):
    await make_account(client, "user_1", 10)

    r = await _access(client, "user_1", cost=11)

    assert r.json() == {
        "allowed": False,
        "reason": "insufficient_credits",
        "available": 10,
        "cost": 11,
    }
    await assert_invariants(db, "user_1")


async def test_access_counts_held_credits_as_unavailable(client, db):
    await make_account(client, "user_1", 10)
    await reserve(client, "user_1", 8)

    r = await _access(client, "user_1", cost=3)

    assert r.json() == {
        "allowed": False,
        "reason": "insufficient_credits",
        "available": 2,
        "cost": 3,
    }
    await assert_invariants(db, "user_1")


async def test_access_cost_defaults_to_one(client, db):
    await make_account(client, "user_1", 1)

    r = await _access(client, "user_1")

    assert r.json() == {"allowed": True, "reason": "ok", "available": 1, "cost": 1}
    await assert_invariants(db, "user_1")


async def test_access_is_refused_with_a_negative_balance_whatever_the_cost(client, db):
    await make_account(client, "user_1", 10)
    await adjust(client, "user_1", -15)

    r = await _access(client, "user_1", cost=0)

    assert r.json() == {
        "allowed": False,
        "reason": "negative_balance",
        "available": -5,
        "cost": 0,
    }
    await assert_invariants(db, "user_1")


async def test_access_writes_nothing(client, db):
    await make_account(client, "user_1", 10)
    before = await snapshot(db)

    await _access(client, "user_1", cost=5)

    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_access_for_an_unknown_account_is_404(client, db):
    assert_problem(await _access(client, "nobody", cost=1), 404, "account_not_found")
