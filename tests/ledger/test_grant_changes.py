"""An operator voids what is left of a grant (POST /v1/grants/{id}/void) or moves its expiry
(PATCH /v1/grants/{id}): credits:grant only, once per Idempotency-Key, and a refusal writes
nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.storage.database import GRANTS, LEDGER
from tests.factories import (
    account,
    assert_invariants,
    assert_problem,
    capture,
    debit,
    grant,
    ledger_page,
    live_grants,
    new_key,
    release,
    reserve,
    snapshot,
)
from tests.support.settings import auth


async def _grant_id(client, account_id: str, amount: int, **kw) -> str:
    r = await grant(client, account_id, amount, **kw)
    assert r.status_code == 201, r.text
    return r.json()["entry"]["grants"][0]["grant_id"]


async def void(client, grant_id: str, *, reason="duplicate promo", key=None, who="admin"):
    return await client.post(
        f"/v1/grants/{grant_id}/void",
        json={"reason": reason},
        headers={**auth(who), "Idempotency-Key": key or new_key("v")},
    )


async def move_expiry(client, grant_id: str, expires_at, *, key=None, who="admin", **extra):
    when = expires_at.isoformat() if expires_at is not None else None
    return await client.patch(
        f"/v1/grants/{grant_id}",
        json={"expires_at": when, **extra},
        headers={**auth(who), "Idempotency-Key": key or new_key("e")},
    )


async def test_void_expires_the_rest_now_with_an_expiry_entry(client, db):
    keep = await _grant_id(client, "user_1", 40)
    gone = await _grant_id(client, "user_1", 100, kind="promotional")
    assert (await debit(client, "user_1", 50)).status_code == 201  # 40 from keep, 10 from gone

    r = await void(client, gone, key="void-1")

    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["entry"]["type"], body["entry"]["amount"], body["entry"]["balance_after"]) == (
        "expiry",
        -90,
        0,
    )
    assert body["entry"]["grants"] == [{"grant_id": gone, "kind": "promotional", "amount": -90}]
    assert (body["entry"]["actor"], body["entry"]["idempotency_key"]) == ("admin", "void-1")
    assert "duplicate promo" in body["entry"]["description"]
    assert (body["grant"]["status"], body["grant"]["remaining"]) == ("voided", 0)
    assert body["account"]["balance"] == 0
    assert [g["id"] for g in await live_grants(client, "user_1")] == []
    stored = await db[GRANTS].find_one({"_id": gone})
    assert (stored["expired"], stored["expired_amount"], stored["voided_by"]) == (True, 90, "admin")
    assert (await db[GRANTS].find_one({"_id": keep}))["remaining"] == 0
    assert (await ledger_page(client, "user_1"))["data"][0]["type"] == "expiry"
    await assert_invariants(db, "user_1")


async def test_void_replays_with_the_same_key_and_expires_once(client, db):
    gone = await _grant_id(client, "user_1", 100)
    first = await void(client, gone, key="void-1")

    again = await void(client, gone, key="void-1")

    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await db[LEDGER].count_documents({"account_id": "user_1", "type": "expiry"}) == 1
    other = await void(client, gone, key="void-1", reason="another reason")
    assert_problem(other, 409, "idempotency_key_reused")
    await assert_invariants(db, "user_1")


async def test_a_voided_or_expired_grant_is_409_and_nothing_is_written(client, db, clock):
    voided = await _grant_id(client, "user_1", 100)
    expiring = await _grant_id(client, "user_1", 5, expires_at=clock.now() + timedelta(hours=1))
    assert (await void(client, voided)).status_code == 200
    clock.advance(hours=2)
    await account(client, "user_1")  # the hour-long grant expires
    before = await snapshot(db)

    body = assert_problem(await void(client, voided), 409, "grant_expired")
    assert (body["grant_id"], body["grant_status"]) == (voided, "voided")
    body = assert_problem(await void(client, expiring), 409, "grant_expired")
    assert body["grant_status"] == "expired"
    body = assert_problem(
        await move_expiry(client, voided, clock.now() + timedelta(days=1)), 409, "grant_expired"
    )

    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_void_leaves_held_credits_with_the_hold_until_it_releases_them(client, db):
    gone = await _grant_id(client, "user_1", 50)
    spent_hold = (await reserve(client, "user_1", 10)).json()
    freed_hold = (await reserve(client, "user_1", 20)).json()

    r = await void(client, gone)

    assert r.json()["entry"]["amount"] == -20
    assert (r.json()["account"]["balance"], r.json()["account"]["reserved"]) == (30, 30)
    assert (await capture(client, spent_hold["id"])).status_code == 200
    assert (await release(client, freed_hold["id"])).status_code == 200
    acc = await account(client, "user_1")
    assert (acc["balance"], acc["reserved"], acc["available"]) == (0, 0, 0)
    types = [e["type"] for e in (await ledger_page(client, "user_1"))["data"]]
    assert types == ["expiry", "capture", "expiry", "grant"]
    await assert_invariants(db, "user_1")


async def test_a_void_with_everything_held_writes_no_entry(client, db):
    gone = await _grant_id(client, "user_1", 10)
    assert (await reserve(client, "user_1", 10)).status_code == 201

    r = await void(client, gone)

    assert r.status_code == 200, r.text
    assert (r.json()["entry"], r.json()["grant"]["status"], r.json()["grant"]["held"]) == (
        None,
        "voided",
        10,
    )
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("who", ["reader", "worker", "events"])
async def test_changing_a_grant_needs_credits_grant(client, db, clock, who):
    gone = await _grant_id(client, "user_1", 10)
    before = await snapshot(db)

    assert_problem(await void(client, gone, who=who), 403, "forbidden")
    assert_problem(await move_expiry(client, gone, None, who=who), 403, "forbidden")

    assert await snapshot(db) == before


async def test_bad_void_and_expiry_requests_are_422_and_write_nothing(client, db, clock):
    gone = await _grant_id(client, "user_1", 10)
    before = await snapshot(db)
    headers = {**auth(), "Idempotency-Key": "bad-1"}

    for body in ({}, {"reason": ""}, {"reason": "x" * 501}, {"reason": "ok", "amount": 3}):
        r = await client.post(f"/v1/grants/{gone}/void", json=body, headers=headers)
        assert_problem(r, 422, "validation_error")
    for body in (
        {},
        {"expires_at": "2030-01-01T00:00:00"},  # no timezone
        {"expires_at": "soon"},
        {"expires_at": None, "amount": 5},
        {"expires_at": (clock.now() - timedelta(seconds=1)).isoformat()},
        {"expires_at": clock.now().isoformat()},
    ):
        r = await client.patch(f"/v1/grants/{gone}", json=body, headers=headers)
        assert_problem(r, 422, "validation_error")
    r = await client.post("/v1/grants/not-a-grant/void", json={"reason": "x"}, headers=headers)
    assert_problem(r, 422, "validation_error")
    r = await client.post(f"/v1/grants/{gone}/void", json={"reason": "x"}, headers=auth())
    assert_problem(r, 400, "idempotency_key_missing")

    assert await snapshot(db) == before


async def test_an_unknown_grant_is_404(client, db):
    missing = "gr_" + "0" * 24

    body = assert_problem(await void(client, missing), 404, "grant_not_found")

    assert body["grant_id"] == missing
    assert_problem(await move_expiry(client, missing, None), 404, "grant_not_found")


async def test_an_earlier_expiry_is_honoured_by_the_next_read(client, db, clock):
    gr = await _grant_id(client, "user_1", 100, expires_at=clock.now() + timedelta(days=30))
    await account(client, "user_1")  # the account knows its next deadline: 30 days

    r = await move_expiry(client, gr, clock.now() + timedelta(days=1), reason="trial shortened")

    assert r.status_code == 200, r.text
    assert r.json()["grant"]["expires_at"].startswith(
        (clock.now() + timedelta(days=1)).date().isoformat()
    )
    assert r.json()["account"]["balance"] == 100
    clock.advance(days=2)
    acc = await account(client, "user_1")
    assert (acc["balance"], acc["available"]) == (0, 0)
    stored = await db[GRANTS].find_one({"_id": gr})
    assert stored["expired"] and stored["expiry_changes"][0]["reason"] == "trial shortened"
    await assert_invariants(db, "user_1")


async def test_a_later_or_no_expiry_keeps_the_credits_past_the_old_date(client, db, clock):
    later = await _grant_id(client, "user_1", 10, expires_at=clock.now() + timedelta(days=1))
    never = await _grant_id(client, "user_1", 5, expires_at=clock.now() + timedelta(days=1))

    assert (await move_expiry(client, later, clock.now() + timedelta(days=10))).status_code == 200
    r = await move_expiry(client, never, None)
    assert r.status_code == 200 and r.json()["grant"]["expires_at"] is None
    clock.advance(days=5)

    assert (await account(client, "user_1"))["balance"] == 15
    clock.advance(days=6)
    assert (await account(client, "user_1"))["balance"] == 5
    await assert_invariants(db, "user_1")


async def test_moving_an_expiry_moves_the_grant_in_spending_order(client, db, clock):
    first = await _grant_id(client, "user_1", 10, expires_at=clock.now() + timedelta(days=10))
    second = await _grant_id(client, "user_1", 10, expires_at=clock.now() + timedelta(days=20))

    assert (await move_expiry(client, second, clock.now() + timedelta(days=5))).status_code == 200
    r = await debit(client, "user_1", 4)

    assert [p["grant_id"] for p in r.json()["entry"]["grants"]] == [second]
    assert [g["id"] for g in await live_grants(client, "user_1")] == [second, first]
    await assert_invariants(db, "user_1")


async def test_an_expiry_change_replays_with_the_same_key(client, db, clock):
    gr = await _grant_id(client, "user_1", 10, expires_at=clock.now() + timedelta(days=1))
    when = clock.now() + timedelta(days=3)
    first = await move_expiry(client, gr, when, key="move-1")
    clock.advance(days=4)  # the time it named has passed: a retry still gets the first answer

    again = await move_expiry(client, gr, when, key="move-1")

    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == first.json()
    stored = await db[GRANTS].find_one({"_id": gr})
    assert len(stored["expiry_changes"]) == 1


async def test_a_void_racing_debits_keeps_every_invariant(client, db):
    gone = await _grant_id(client, "user_1", 100)
    await _grant_id(client, "user_1", 20, kind="compensation")

    answers = await asyncio.gather(
        *(debit(client, "user_1", 7) for _ in range(8)), void(client, gone)
    )

    assert answers[-1].status_code == 200, answers[-1].text
    assert {r.status_code for r in answers[:-1]} <= {201, 402}
    acc = await assert_invariants(db, "user_1")
    spent = 7 * sum(1 for r in answers[:-1] if r.status_code == 201)
    assert acc["balance"] == 120 - spent + answers[-1].json()["entry"]["amount"]
