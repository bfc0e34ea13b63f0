"""A crossing below the threshold records one pending top-up, in the unit of work that moved
the balance; while one is open, further crossings record nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from app.storage.database import TOPUPS
from tests.factories import account, assert_invariants, debit, grant, release, reserve
from tests.interleavings import FEW_SEEDS, assert_contended, interleaved, reruns
from tests.support.verify import assert_verified
from tests.topups.helpers import enable, linked_account, topups


@pytest.mark.parametrize("group_commit", [True, False], ids=["batched", "unit_per_request"])
async def test_50_concurrent_debits_crossing_record_one_top_up(
    app, client, clock, db, group_commit
):
    for seed in FEW_SEEDS:
        account = await linked_account(client, clock, f"user_{seed}", f"cus_{seed}")
        await grant(client, account, 120)
        await enable(client, account, threshold=100)
        with interleaved(db, seed):
            answers = await asyncio.gather(*(debit(client, account, 1) for _ in range(50)))
        assert Counter(r.status_code for r in answers) == {201: 50}
        recorded = await topups(client, account)
        assert [t["status"] for t in recorded] == ["pending"], seed
        # The unit of work that crossed (a group commit's batch of debits, or one debit).
        trigger = recorded[0]["trigger"]
        assert trigger["available_before"] >= 100 > trigger["available_after"] >= 70
        await assert_invariants(db, account)
        await assert_verified(app)
    if not group_commit:  # one unit per request: they conflicted and re-ran
        assert_contended(db, await reruns(client))


async def test_a_hold_crosses_too_and_an_open_one_stays_alone(client, clock, db):
    await linked_account(client, clock)
    await grant(client, "user_1", 150)
    await enable(client, "user_1", threshold=100)
    hold = (await reserve(client, "user_1", 60)).json()["id"]  # available 150 -> 90: crossing
    assert len(await topups(client, "user_1")) == 1
    assert (await release(client, hold)).status_code == 200  # back to 150
    # 150 -> 70: a crossing, but one is open: the debit succeeds and records nothing.
    assert (await debit(client, "user_1", 80)).status_code == 201
    assert len(await topups(client, "user_1")) == 1


async def test_no_top_up_while_off_or_above(client, clock, db):
    await linked_account(client, clock)
    await grant(client, "user_1", 500)
    assert (await debit(client, "user_1", 450)).status_code == 201  # no settings: nothing
    await enable(client, "user_1", threshold=10)
    assert (await debit(client, "user_1", 30)).status_code == 201  # 50 -> 20: above 10
    assert await db[TOPUPS].count_documents({}) == 0


async def test_an_expiry_crosses_too(client, clock, db):
    await linked_account(client, clock)
    await grant(client, "user_1", 50, expires_at=clock.now() + timedelta(days=1))
    await grant(client, "user_1", 100)
    await enable(client, "user_1", threshold=120)  # 150 available: above
    assert await db[TOPUPS].count_documents({}) == 0
    clock.advance(days=2)
    assert (await account(client, "user_1"))["available"] == 100  # the 50 expired
    [topup] = await topups(client, "user_1")
    assert topup["trigger"] == {"available_before": 150, "available_after": 100, "threshold": 120}
