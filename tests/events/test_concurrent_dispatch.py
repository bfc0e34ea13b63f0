"""Two dispatchers over one database (two instances), their calls interleaved by seed
(tests/interleavings.py) while the service keeps recording events: they really contend (both
fan out the same events, and both claim deliveries), and each event reaches each endpoint
once, in one attempt."""

import asyncio

import pytest

from app.storage.database import DELIVERIES
from tests.events.helpers import register
from tests.factories import debit, make_account
from tests.interleavings import interleaved
from tests.support.verify import assert_verified

DISPATCH_SEEDS = range(12)  # each seed sends over real HTTP to the receiver


@pytest.mark.slow
async def test_two_dispatchers_interleaved_deliver_each_event_once(app_with, db, receiver):
    app_a, client_a = await app_with()
    app_b, _ = await app_with()
    await register(client_a, receiver, path="/a")
    await register(client_a, receiver, path="/b")
    events = 0
    both_sent = 0  # seeds in which each dispatcher sent some deliveries
    for seed in DISPATCH_SEEDS:
        account = f"user_{seed}"
        await make_account(client_a, account, 10)
        events += 1
        db.calls.reset()
        with interleaved(db, seed):
            sent_a, _, sent_b = await asyncio.gather(
                app_a.state.services.dispatcher.run_once(),
                debit(client_a, account, 10),  # recorded while they dispatch
                app_b.state.services.dispatcher.run_once(),
            )
            events += 1
            more_a, more_b = await asyncio.gather(
                app_a.state.services.dispatcher.run_once(),
                app_b.state.services.dispatcher.run_once(),
            )
        both_sent += sent_a + more_a > 0 and sent_b + more_b > 0
        # Contention: both fanned out the same events, and the unique (event, endpoint) key
        # refused the second insert of each delivery.
        inserts = db.calls.counts[("insert_one", DELIVERIES)]
        assert inserts > 2 * 2, seed  # each seed makes 2 events x 2 endpoints

        pairs = [(r.path, r.headers["webhook-id"]) for r in receiver.received]
        assert len(pairs) == len(set(pairs)) == 2 * events, seed
        assert all(r.verified for r in receiver.received)
        assert await db[DELIVERIES].count_documents({"status": "succeeded"}) == 2 * events
        assert await db[DELIVERIES].count_documents({"attempts": {"$ne": 1}}) == 0, seed
        await assert_verified(app_a)
    assert both_sent > 0  # the two claimed deliveries side by side, not one after the other
