"""A retry with the same Idempotency-Key racing its original gets the original's answer
(`Idempotent-Replayed: true`), never a refusal for a request that succeeded: the original
commits between the retry's key look-up and its unit of work, whose guarded write then
refuses; the refusal reads the key again and replays. Explored over many interleavings."""

from __future__ import annotations

import asyncio

from tests.conftest import assert_verified
from tests.factories import capture, debit, make_account, release, reserve
from tests.interleavings import SEEDS, assert_contended, interleaved, reruns

SAME_TIME = 5


def assert_one_answer(answers, status: int, seed: int) -> None:
    """Every answer is the original's: one made it, the others replay it."""
    seen = [(r.status_code, r.json().get("code")) for r in answers]
    assert {r.status_code for r in answers} == {status}, (seed, seen)
    assert sum(r.headers.get("idempotent-replayed") != "true" for r in answers) == 1, seed
    assert len({r.text for r in answers}) == 1, seed


async def test_same_key_debits_racing_all_answer_the_original(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 7)
        with interleaved(db, seed):
            answers = await asyncio.gather(
                *(debit(client, account, 7, key="same") for _ in range(SAME_TIME))
            )
        assert_one_answer(answers, 201, seed)
        await assert_verified(app)
    assert_contended(db, await reruns(client))


async def test_same_key_holds_racing_all_answer_the_original(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 7)
        with interleaved(db, seed):
            answers = await asyncio.gather(
                *(reserve(client, account, 7, key="same") for _ in range(SAME_TIME))
            )
        assert_one_answer(answers, 201, seed)
        await assert_verified(app)
    assert_contended(db, await reruns(client))


async def test_same_key_captures_racing_all_answer_the_original(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 7)
        hold = (await reserve(client, account, 7)).json()["id"]
        with interleaved(db, seed):
            answers = await asyncio.gather(
                *(capture(client, hold, 7, key="same") for _ in range(SAME_TIME))
            )
        assert_one_answer(answers, 200, seed)
        await assert_verified(app)
    assert_contended(db, await reruns(client))


async def test_same_key_releases_racing_all_answer_the_original(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 7)
        hold = (await reserve(client, account, 7)).json()["id"]
        with interleaved(db, seed):
            answers = await asyncio.gather(
                *(release(client, hold, key="same") for _ in range(SAME_TIME))
            )
        assert_one_answer(answers, 200, seed)
        await assert_verified(app)
    assert_contended(db, await reruns(client))
