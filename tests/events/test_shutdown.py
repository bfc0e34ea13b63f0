"""Graceful shutdown: a delivery in flight finishes, or is released for another instance."""

import asyncio
import threading

from app.storage.database import DELIVERIES
from tests.events.helpers import register
from tests.factories import make_account


async def _in_flight(app, client, receiver) -> None:
    await register(client, receiver)
    receiver.hold = threading.Event()
    await make_account(client, "user_1", 10)
    app.state.services.dispatcher.start(interval=0.05)
    assert await asyncio.to_thread(receiver.arrived.wait, 5)


async def test_a_delivery_in_flight_finishes_within_the_grace(app, client, db, receiver):
    await _in_flight(app, client, receiver)

    stopping = asyncio.create_task(app.state.services.dispatcher.stop(grace=5))
    receiver.hold.set()
    await stopping

    delivery = await db[DELIVERIES].find_one({})
    assert delivery["status"] == "succeeded" and delivery["lease_owner"] is None
    assert len(receiver.received) == 1


async def test_a_delivery_still_in_flight_after_the_grace_is_released(
    app, client, db, clock, receiver
):
    await _in_flight(app, client, receiver)

    await app.state.services.dispatcher.stop(grace=0.05)

    delivery = await db[DELIVERIES].find_one({})
    assert delivery["status"] == "pending" and delivery["lease_owner"] is None
    assert delivery["attempts"] == 0
    assert delivery["next_attempt_at"] <= clock.now()  # due again at once, for anyone
