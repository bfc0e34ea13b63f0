"""Nothing grows without bound in one answer: grants are listed a page at a time, and an account
holds at most MAX_HELD_RESERVATIONS live holds (409 `too_many_reservations` past that)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from bson import ObjectId

from app.http.app import create_app
from app.storage.database import ACCOUNTS, GRANTS, RESERVATIONS
from tests.factories import (
    assert_invariants,
    assert_problem,
    grant,
    make_account,
    release,
    reserve,
    snapshot,
)
from tests.support.settings import auth, make_settings

ACCOUNT = "user_1"


@pytest.fixture
async def client_with(db, clock):
    """A client of an app built with other settings, on the test's database and clock."""
    contexts = []

    async def make(**overrides) -> httpx.AsyncClient:
        application = create_app(make_settings(**overrides), db=db, clock=clock, sweeper=False)
        context = application.router.lifespan_context(application)
        await context.__aenter__()
        contexts.append(context)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        )

    yield make
    for context in contexts:
        await context.__aexit__(None, None, None)


async def _hold_many(client, db, count: int) -> None:
    """`count` one-credit holds of a day: one made through the API, the rest copies of it
    written straight to the database (1,000 API calls would take the embedded engine 20 s),
    with the account and grant totals moved to match, so every invariant holds."""
    r = await reserve(client, ACCOUNT, 1, ttl_seconds=86_400, key="hold-0")
    assert r.status_code == 201, r.text
    first = await db[RESERVATIONS].find_one({"_id": r.json()["id"]})
    copies = [
        {**first, "_id": f"rsv_{ObjectId()}", "idempotency_key": f"hold-{i}"}
        for i in range(1, count)
    ]
    await db[RESERVATIONS].insert_many(copies)
    await db[GRANTS].update_one(
        {"_id": first["grants"][0]["grant_id"]},
        {"$inc": {"remaining": -(count - 1), "held": count - 1}},
    )
    await db[ACCOUNTS].update_one(
        {"_id": ACCOUNT}, {"$inc": {"reserved": count - 1, "holds": count - 1}}
    )
    await assert_invariants(db, ACCOUNT)


async def test_the_1001st_hold_on_one_account_is_409_too_many_reservations(client, db):
    await make_account(client, ACCOUNT, 5000)
    await _hold_many(client, db, 1000)
    before = await snapshot(db)

    r = await reserve(client, ACCOUNT, 1, key="hold-1000")

    body = assert_problem(r, 409, "too_many_reservations")
    assert "MAX_HELD_RESERVATIONS" in body["detail"]
    assert await snapshot(db) == before
    await assert_invariants(db, ACCOUNT)
    # The same key may be retried once a hold is gone: a refusal stores nothing.
    one = (await db[RESERVATIONS].find_one({"account_id": ACCOUNT}))["_id"]
    assert (await release(client, one)).status_code == 200
    r = await reserve(client, ACCOUNT, 1, key="hold-1000")
    assert r.status_code == 201, r.text
    await assert_invariants(db, ACCOUNT)


async def test_holds_past_their_deadline_or_resolved_free_their_place(client_with, db, clock):
    client = await client_with(max_held_reservations=2)
    await make_account(client, ACCOUNT, 100)
    short = await reserve(client, ACCOUNT, 1, ttl_seconds=60)
    assert short.status_code == 201
    assert (await reserve(client, ACCOUNT, 1, ttl_seconds=3600)).status_code == 201
    assert_problem(await reserve(client, ACCOUNT, 1), 409, "too_many_reservations")

    clock.advance(seconds=61)  # the short hold expires
    assert (await reserve(client, ACCOUNT, 1, ttl_seconds=3600)).status_code == 201
    assert_problem(await reserve(client, ACCOUNT, 1), 409, "too_many_reservations")
    await assert_invariants(db, ACCOUNT)


async def test_other_accounts_have_their_own_bound(client_with, db):
    client = await client_with(max_held_reservations=1)
    await make_account(client, ACCOUNT, 100)
    await make_account(client, "user_2", 100)
    assert (await reserve(client, ACCOUNT, 1)).status_code == 201

    assert (await reserve(client, "user_2", 1)).status_code == 201
    body = assert_problem(await reserve(client, ACCOUNT, 1), 409, "too_many_reservations")
    assert (body["held_reservations"], body["max_held_reservations"]) == (1, 1)


# ---------------------------------------------------------------- grants, a page at a time


async def _grants_page(client, account_id: str = ACCOUNT, **params) -> dict:
    r = await client.get(f"/v1/accounts/{account_id}/grants", params=params, headers=auth("reader"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_grants_page_through_in_spending_order(client, db, clock):
    # Expiring grants (some at the same instant), never-expiring ones: all orders of ties.
    ends = [clock.now() + timedelta(days=d) for d in (3, 1, 2, 1, 3)]
    for i, end in enumerate(ends):
        assert (await grant(client, ACCOUNT, 10 + i, expires_at=end)).status_code == 201
    for i in range(4):
        assert (await grant(client, ACCOUNT, 20 + i)).status_code == 201
    everything = (await _grants_page(client, limit=100))["data"]
    assert len(everything) == 9

    seen, cursor, pages = [], None, 0
    while True:
        page = await _grants_page(client, limit=2, **({"starting_after": cursor} if cursor else {}))
        pages += 1
        seen += page["data"]
        assert len(page["data"]) <= 2
        cursor = page["next_cursor"]
        assert page["has_more"] == (cursor is not None)
        if cursor is None:
            break

    assert pages == 5
    assert [g["id"] for g in seen] == [g["id"] for g in everything]
    assert [g["amount"] for g in seen] == [11, 13, 12, 10, 14, 20, 21, 22, 23]
    await assert_invariants(db, ACCOUNT)


async def test_grants_list_twenty_by_default(client):
    for _ in range(21):
        await grant(client, ACCOUNT, 1)

    page = await _grants_page(client)

    assert len(page["data"]) == 20 and page["has_more"] is True
    rest = await _grants_page(client, starting_after=page["next_cursor"])
    assert len(rest["data"]) == 1 and rest["has_more"] is False and rest["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"starting_after": "le_1"},
        {"starting_after": f"gr_{'0' * 24}"},
    ],
)
async def test_bad_grant_page_parameters_are_422(client, db, params):
    await make_account(client, ACCOUNT, 10)

    r = await client.get(f"/v1/accounts/{ACCOUNT}/grants", params=params, headers=auth("reader"))

    assert_problem(r, 422, "validation_error")


async def test_a_cursor_from_another_account_is_422(client):
    await make_account(client, "user_2", 10)
    other = (await _grants_page(client, "user_2"))["data"][0]["id"]
    await make_account(client, ACCOUNT, 10)

    r = await client.get(
        f"/v1/accounts/{ACCOUNT}/grants", params={"starting_after": other}, headers=auth("reader")
    )

    assert_problem(r, 422, "validation_error")
