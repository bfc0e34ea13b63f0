"""Two dispatchers over one database (two instances), their calls interleaved by seed
(tests/interleavings.py) while the service keeps recording events: each event reaches each
endpoint once."""

import asyncio

from app.db import DELIVERIES
from tests.conftest import assert_verified
from tests.events.helpers import register
from tests.factories import debit, make_account
from tests.interleavings import interleaved

DISPATCH_SEEDS = range(12)  # each seed sends over real HTTP to the receiver


async def test_two_dispatchers_interleaved_deliver_each_event_once(app_with, db, receiver):
    app_a, client_a = await app_with()
    app_b, _ = await app_with()
    await register(client_a, receiver, path="/a")
    await register(client_a, receiver, path="/b")
    events = 0
    for seed in DISPATCH_SEEDS:
        account = f"user_{seed}"
        await make_account(client_a, account, 10)
        events += 1
        with interleaved(db, seed):
            await asyncio.gather(
                app_a.state.dispatcher.run_once(),
                debit(client_a, account, 10),  # recorded while they dispatch
                app_b.state.dispatcher.run_once(),
            )
            events += 1
            await asyncio.gather(
                app_a.state.dispatcher.run_once(), app_b.state.dispatcher.run_once()
            )

        pairs = [(r.path, r.headers["webhook-id"]) for r in receiver.received]
        assert len(pairs) == len(set(pairs)) == 2 * events, seed
        assert all(r.verified for r in receiver.received)
        assert await db[DELIVERIES].count_documents({"status": "succeeded"}) == 2 * events
        await assert_verified(app_a)
