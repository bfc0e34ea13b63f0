"""Real concurrency over HTTP: many requests at once never spend what is not there."""

import asyncio
from collections import Counter

from app.db import LEDGER, RESERVATIONS
from tests.factories import assert_invariants, capture, debit, make_account, release, reserve


async def test_200_concurrent_debits_of_1_against_150_spend_exactly_150(client, db):
    await make_account(client, "user_1", 150)

    answers = await asyncio.gather(*(debit(client, "user_1", 1) for _ in range(200)))

    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 150, 402: 50}
    assert {r.json()["code"] for r in answers if r.status_code == 402} == {"insufficient_credits"}
    assert await db[LEDGER].count_documents({"account_id": "user_1", "type": "debit"}) == 150
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 0


async def test_100_concurrent_reservations_of_2_against_150_hold_exactly_75(client, db):
    await make_account(client, "user_1", 150)

    answers = await asyncio.gather(*(reserve(client, "user_1", 2) for _ in range(100)))

    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 75, 402: 25}
    assert {r.json()["status"] for r in answers if r.status_code == 201} == {"held"}
    assert {r.json()["code"] for r in answers if r.status_code == 402} == {"insufficient_credits"}
    assert await db[RESERVATIONS].count_documents({"account_id": "user_1"}) == 75
    acc = await assert_invariants(db, "user_1")
    assert (acc["balance"], acc["reserved"]) == (150, 150)


async def test_concurrent_debits_and_reservations_together_never_overspend(client, db):
    await make_account(client, "user_1", 100)

    answers = await asyncio.gather(
        *(debit(client, "user_1", 3) for _ in range(30)),
        *(reserve(client, "user_1", 5) for _ in range(30)),
    )

    spent = sum(3 for r in answers[:30] if r.status_code == 201)
    held = sum(5 for r in answers[30:] if r.status_code == 201)
    assert {r.status_code for r in answers} <= {201, 402}
    assert spent + held <= 100
    acc = await assert_invariants(db, "user_1")
    assert (acc["balance"], acc["reserved"]) == (100 - spent, held)
    # Refused only when what was left could not cover the request.
    assert acc["balance"] - acc["reserved"] < 5


async def test_concurrent_retries_of_one_debit_spend_once(client, db):
    await make_account(client, "user_1", 100)

    answers = await asyncio.gather(*(debit(client, "user_1", 7, key="same") for _ in range(20)))

    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["entry"]["id"] for r in answers}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 19
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 93


async def test_concurrent_captures_of_one_hold_resolve_it_once(client, db):
    await make_account(client, "user_1", 100)
    rid = (await reserve(client, "user_1", 50)).json()["id"]

    answers = await asyncio.gather(
        *(capture(client, rid, 10) for _ in range(10)), *(release(client, rid) for _ in range(10))
    )

    assert sum(r.status_code == 200 for r in answers) == 1
    assert {r.json()["code"] for r in answers if r.status_code != 200} == {"reservation_not_held"}
    acc = await assert_invariants(db, "user_1")
    assert acc["reserved"] == 0
    assert acc["balance"] in (90, 100)
    assert await db[LEDGER].count_documents({"type": "capture"}) == (acc["balance"] == 90)
