"""A retry with the same Idempotency-Key racing its original gets the original's answer
(`Idempotent-Replayed: true`), never a refusal for a request that succeeded: the original
commits between the retry's key look-up and its unit of work, whose guarded write then
refuses; the refusal reads the key again and replays. Explored over many interleavings."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import capture, debit, make_account, release, reserve
from tests.interleavings import SEEDS, assert_contended, interleaved, reruns
from tests.support.settings import make_settings
from tests.support.verify import assert_verified

pytestmark = pytest.mark.slow  # many seeded interleavings


@pytest.fixture
def settings():
    # One unit of work per request, as instances without group commit run them: these tests
    # are of the transactions' own conflicts and re-runs (group commit's batches, which do
    # not conflict within a process, are tested in test_group_commit.py).
    return make_settings(group_commit=False)


SAME_TIME = 5


def assert_one_answer(answers, status: int, seed: int) -> None:
    """Every answer is the original's: one made it, the others replay it."""
    seen = [(r.status_code, r.json().get("code")) for r in answers]
    assert {r.status_code for r in answers} == {status}, (seed, seen)
    assert sum(r.headers.get("idempotent-replayed") != "true" for r in answers) == 1, seed
    assert len({r.text for r in answers}) == 1, seed


async def race_one_key(app, client, db, send, status, *, held: bool) -> None:
    """Under every seed: SAME_TIME requests with one key (send(account or hold id)) all answer
    the original's answer, the ledger verifies, and the units really conflicted."""
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 7)
        target = (await reserve(client, account, 7)).json()["id"] if held else account
        with interleaved(db, seed):
            answers = await asyncio.gather(*(send(target) for _ in range(SAME_TIME)))
        assert_one_answer(answers, status, seed)
        await assert_verified(app)
    assert_contended(db, await reruns(client))


async def test_same_key_debits_racing_all_answer_the_original(app, client, db):
    await race_one_key(
        app, client, db, lambda account: debit(client, account, 7, key="same"), 201, held=False
    )


async def test_same_key_holds_racing_all_answer_the_original(app, client, db):
    await race_one_key(
        app, client, db, lambda account: reserve(client, account, 7, key="same"), 201, held=False
    )


async def test_same_key_captures_racing_all_answer_the_original(app, client, db):
    await race_one_key(
        app, client, db, lambda hold: capture(client, hold, 7, key="same"), 200, held=True
    )


async def test_same_key_releases_racing_all_answer_the_original(app, client, db):
    await race_one_key(
        app, client, db, lambda hold: release(client, hold, key="same"), 200, held=True
    )
