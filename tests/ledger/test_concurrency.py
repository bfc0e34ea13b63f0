"""Real concurrency over HTTP: many requests at once never spend what is not there. Each
scenario runs under many seeded interleavings (tests/interleavings.py) on an account of its
own, every invariant checked after each, and write conflicts and re-runs must have happened."""

import asyncio
from collections import Counter

import pytest

from app.storage.database import LEDGER, RESERVATIONS
from tests.factories import assert_invariants, capture, debit, make_account, release, reserve
from tests.interleavings import FEW_SEEDS, SEEDS, assert_contended, interleaved, reruns
from tests.support.settings import make_settings
from tests.support.verify import assert_verified

pytestmark = pytest.mark.slow  # many seeded interleavings


@pytest.fixture
def settings():
    # One unit of work per request, as instances without group commit run them: these tests
    # are of the transactions' own conflicts and re-runs (group commit's batches, which do
    # not conflict within a process, are tested in test_group_commit.py).
    return make_settings(group_commit=False)


async def test_200_concurrent_debits_of_1_against_150_spend_exactly_150(app, client, db):
    for seed in FEW_SEEDS:
        account = await make_account(client, f"user_{seed}", 150)
        with interleaved(db, seed):
            answers = await asyncio.gather(*(debit(client, account, 1) for _ in range(200)))

        statuses = Counter(r.status_code for r in answers)
        assert statuses == {201: 150, 402: 50}, seed
        codes = {r.json()["code"] for r in answers if r.status_code == 402}
        assert codes == {"insufficient_credits"}
        assert await db[LEDGER].count_documents({"account_id": account, "type": "debit"}) == 150
        acc = await assert_invariants(db, account)
        assert acc["balance"] == 0
        await assert_verified(app)
    assert_contended(db, await reruns(client))


async def test_100_concurrent_reservations_of_2_against_150_hold_exactly_75(app, client, db):
    for seed in FEW_SEEDS:
        account = await make_account(client, f"user_{seed}", 150)
        with interleaved(db, seed):
            answers = await asyncio.gather(*(reserve(client, account, 2) for _ in range(100)))

        statuses = Counter(r.status_code for r in answers)
        assert statuses == {201: 75, 402: 25}, seed
        assert {r.json()["status"] for r in answers if r.status_code == 201} == {"held"}
        codes = {r.json()["code"] for r in answers if r.status_code == 402}
        assert codes == {"insufficient_credits"}
        assert await db[RESERVATIONS].count_documents({"account_id": account}) == 75
        acc = await assert_invariants(db, account)
        assert (acc["balance"], acc["reserved"]) == (150, 150)
        await assert_verified(app)
    assert_contended(db, await reruns(client))


async def test_concurrent_debits_and_reservations_together_never_overspend(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 30)
        with interleaved(db, seed):
            answers = await asyncio.gather(
                *(debit(client, account, 3) for _ in range(6)),
                *(reserve(client, account, 5) for _ in range(6)),
            )

        spent = sum(3 for r in answers[:6] if r.status_code == 201)
        held = sum(5 for r in answers[6:] if r.status_code == 201)
        assert {r.status_code for r in answers} <= {201, 402}
        assert spent + held <= 30
        acc = await assert_invariants(db, account)
        assert (acc["balance"], acc["reserved"]) == (30 - spent, held)
        # Refused only when what was left could not cover the request.
        assert acc["balance"] - acc["reserved"] < 5
        await assert_verified(app)
    assert_contended(db, await reruns(client))


async def test_concurrent_retries_of_one_debit_spend_once(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 100)
        with interleaved(db, seed):
            answers = await asyncio.gather(
                *(debit(client, account, 7, key="same") for _ in range(8))
            )

        assert {r.status_code for r in answers} == {201}, seed
        assert len({r.json()["entry"]["id"] for r in answers}) == 1
        assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 7
        acc = await assert_invariants(db, account)
        assert acc["balance"] == 93
        await assert_verified(app)
    assert_contended(db, await reruns(client))


async def test_concurrent_captures_of_one_hold_resolve_it_once(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 100)
        rid = (await reserve(client, account, 50)).json()["id"]
        with interleaved(db, seed):
            answers = await asyncio.gather(
                *(capture(client, rid, 10) for _ in range(4)),
                *(release(client, rid) for _ in range(4)),
            )

        assert sum(r.status_code == 200 for r in answers) == 1, seed
        refused = {r.json()["code"] for r in answers if r.status_code != 200}
        assert refused == {"reservation_not_held"}
        acc = await assert_invariants(db, account)
        assert acc["reserved"] == 0
        assert acc["balance"] in (90, 100)
        captured = await db[LEDGER].count_documents({"account_id": account, "type": "capture"})
        assert captured == (acc["balance"] == 90)
        await assert_verified(app)
    assert_contended(db, await reruns(client))
