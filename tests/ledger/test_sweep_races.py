"""The expiry sweep running while debits and holds arrive on the accounts it expires, under
many seeded interleavings (tests/interleavings.py): nothing is spent twice or expired twice,
and every invariant holds after each."""

import asyncio
from datetime import timedelta

import pytest

from app.ledger.expiry import sweep
from tests.factories import assert_invariants, debit, grant, reserve
from tests.interleavings import SEEDS, assert_contended, interleaved, reruns
from tests.support.verify import assert_verified

pytestmark = pytest.mark.slow  # many seeded interleavings


async def test_the_sweep_against_debits_and_holds_never_spends_an_expired_credit(
    app, client, db, clock
):
    for seed in SEEDS:
        account = f"user_{seed}"
        soon = clock.now() + timedelta(minutes=1)
        assert (await grant(client, account, 10, expires_at=soon)).status_code == 201
        assert (await grant(client, account, 10, kind="compensation")).status_code == 201
        held = await reserve(client, account, 4, ttl_seconds=30)
        assert held.status_code == 201
        clock.advance(minutes=2)  # the bonus and the hold are due
        with interleaved(db, seed):
            answers = await asyncio.gather(
                sweep(app.state.services.repos, clock.now()),
                *(debit(client, account, 3) for _ in range(4)),
                reserve(client, account, 2),
            )

        spent = sum(3 for r in answers[1:5] if r.status_code == 201)
        reserved = 2 if answers[5].status_code == 201 else 0
        assert {r.status_code for r in answers[1:]} <= {201, 402}, seed
        account_doc = await assert_invariants(db, account)
        # Only the compensation's 10 was ever spendable: the bonus expired before any debit.
        assert spent + reserved <= 10
        assert (account_doc["balance"], account_doc["reserved"]) == (10 - spent, reserved)
        await assert_verified(app)
    assert_contended(db, await reruns(client))
