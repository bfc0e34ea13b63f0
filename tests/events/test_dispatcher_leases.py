"""A delivery under a live lease is sent by its holder alone: a manual retry meanwhile is
refused, and a worker that fails takes its pass's other workers down with it, their
deliveries given back, instead of leaving them running on their own."""

import asyncio
import threading

import pytest

from app.storage.database import DELIVERIES, EVENTS
from tests.events.helpers import register
from tests.factories import assert_problem, make_account
from tests.support.settings import auth


async def test_a_retry_of_a_delivery_being_sent_is_refused_and_it_is_sent_once(
    app, client, db, receiver
):
    await register(client, receiver)
    receiver.hold = threading.Event()
    await make_account(client, "user_1", 10)
    sending = asyncio.create_task(app.state.services.dispatcher.run_once())
    assert await asyncio.to_thread(receiver.arrived.wait, 5)
    delivery = await db[DELIVERIES].find_one({"lease_owner": {"$ne": None}})

    retry = await client.post(
        f"/v1/webhook-deliveries/{delivery['_id']}/retry", headers=auth("events")
    )
    again = asyncio.create_task(app.state.services.dispatcher.run_once())  # a second pass meanwhile
    receiver.hold.set()
    await asyncio.gather(sending, again)

    assert_problem(retry, 409, "delivery_in_flight")
    sent = [r for r in receiver.received if r.headers["webhook-id"] == delivery["event_id"]]
    assert len(sent) == 1
    done = await db[DELIVERIES].find_one({"_id": delivery["_id"]})
    assert (done["status"], done["attempts"]) == ("succeeded", 1)
    # Once its outcome is in, a retry sends it again.
    retried = await client.post(
        f"/v1/webhook-deliveries/{delivery['_id']}/retry", headers=auth("events")
    )
    assert retried.status_code == 200 and retried.json()["status"] == "pending"


async def test_a_failing_worker_leaves_no_worker_running_and_gives_deliveries_back(
    app, client, db, clock, receiver
):
    await register(client, receiver)
    receiver.hold = threading.Event()
    await make_account(client, "user_1", 10)
    clock.advance(seconds=1)  # due after user_1's: claimed by a worker of its own, later
    await make_account(client, "user_2", 10)
    # An event no view can show: the worker that sends it fails.
    await db[EVENTS].update_many({"account_id": "user_2"}, {"$set": {"type": 7}})

    with pytest.raises(Exception) as failed:
        await app.state.services.dispatcher.run_once()

    assert "type" in str(failed.value)
    workers = [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "Dispatcher._worker"
    ]
    assert workers == []
    receiver.hold.set()
    # The deliveries in flight went back, due at once; the one that failed keeps its lease,
    # and is tried again when it runs out (a minute, not every pass).
    leased = await db[DELIVERIES].find({"lease_owner": {"$ne": None}}).to_list(None)
    assert {d["account_id"] for d in leased} == {"user_2"}
