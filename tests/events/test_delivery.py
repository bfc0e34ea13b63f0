"""Pushing events: a real receiver on 127.0.0.1 verifies every signature with standardwebhooks;
time moves with the service clock, nothing sleeps for backoff."""

import asyncio
import threading
from datetime import datetime, timedelta

from app.kit.clock import as_utc
from app.outbox.dispatcher import BODY_KEPT, EVERY_AFTER, JITTER
from app.storage.database import DELIVERIES
from tests.events.helpers import (
    assert_numbered,
    deliveries,
    events_of,
    next_due,
    register,
    set_threshold,
)
from tests.factories import assert_invariants, debit, grant, make_account
from tests.support.settings import auth


async def _send(app) -> int:
    return await app.state.services.dispatcher.run_once()


async def test_every_event_is_delivered_signed_as_standard_webhooks(app, client, db, receiver):
    await register(client, receiver)
    await make_account(client, "user_1", 100)
    await debit(client, "user_1", 100)

    assert await _send(app) == 2

    pushed = await events_of(client, "user_1")
    # Deliveries go out side by side and may arrive in any order (account_seq lets a
    # receiver put them back in order): the same events, each once.
    arrived = sorted((r.event for r in receiver.received), key=lambda e: e["account_seq"])
    assert arrived == pushed
    assert all(r.verified for r in receiver.received)
    assert sorted(receiver.ids) == sorted(e["id"] for e in pushed)
    first = receiver.received[0]
    assert first.path == "/hook" and first.headers["content-type"] == "application/json"
    assert first.headers["webhook-signature"].startswith("v1,")
    assert int(first.headers["webhook-timestamp"]) > 0
    assert {d["status"] for d in await deliveries(client, (await _endpoint(client))["id"])} == {
        "succeeded"
    }
    await assert_invariants(db, "user_1")


async def _endpoint(client) -> dict:
    return (await client.get("/v1/webhook-endpoints", headers=auth("events"))).json()["data"][0]


async def test_500_twice_then_200_is_retried_on_the_schedule_with_one_webhook_id(
    app, client, db, clock, receiver
):
    endpoint = await register(client, receiver)
    receiver.answers = [500, 500]
    await make_account(client, "user_1", 100)
    t0 = clock.now()

    await _send(app)
    (pending,) = await deliveries(client, endpoint["id"])
    first_wait = as_utc(await next_due(db)) - t0
    clock.set(as_utc(await next_due(db)) - timedelta(milliseconds=1))
    assert await _send(app) == 0  # not before its time
    clock.set(as_utc(await next_due(db)))
    await _send(app)
    t1 = clock.now()
    second_wait = as_utc(await next_due(db)) - t1
    clock.set(as_utc(await next_due(db)))
    await _send(app)

    assert len(receiver.received) == 3
    assert len(set(receiver.ids)) == 1
    assert all(r.verified for r in receiver.received)
    assert pending["status"] == "pending" and pending["last_attempt"]["status_code"] == 500
    assert timedelta(seconds=4) <= first_wait <= timedelta(seconds=6)  # about 5 s
    assert timedelta(seconds=48) <= second_wait <= timedelta(seconds=72)  # about 1 min
    (done,) = await deliveries(client, endpoint["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 3
    assert [a["status_code"] for a in done["log"]] == [500, 500, 200]
    assert done["next_attempt_at"] is None


async def test_never_2xx_fails_after_3_days_and_the_endpoint_is_disabled_after_5(
    app, client, db, clock, receiver
):
    endpoint = await register(client, receiver)
    receiver.default = 503
    await make_account(client, "user_1", 100)
    t0 = clock.now()

    await _send(app)
    while await next_due(db) is not None:  # the first event, until it gives up
        clock.set(max(clock.now(), as_utc(await next_due(db))))
        await _send(app)
    (first,) = await deliveries(client, endpoint["id"])
    attempts_at = [as_utc_str(a["at"]) for a in first["log"]]
    still_enabled = (
        await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=auth("events"))
    ).json()

    await grant(client, "user_1", 5)  # a second event, on day 3, keeps it failing
    await _send(app)
    while await next_due(db) is not None:
        clock.set(max(clock.now(), as_utc(await next_due(db))))
        await _send(app)

    # It gives up when the next try would come after 3 days: the last try is within one
    # step (12 h, drawn within +-20%) of them.
    longest_step = timedelta(seconds=EVERY_AFTER * (1 + JITTER))
    assert first["status"] == "failed"
    assert attempts_at[-1] - t0 <= timedelta(days=3) < attempts_at[-1] - t0 + longest_step
    assert first["attempts"] == len(attempts_at) >= 10
    assert all(r.verified for r in receiver.received)
    assert still_enabled["disabled"] is False
    disabled = (
        await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=auth("events"))
    ).json()
    assert disabled["disabled"] is True and "5 days" in disabled["disabled_reason"]
    disabled_at = as_utc_str(disabled["updated_at"])
    assert timedelta(days=5) <= disabled_at - t0 < timedelta(days=5) + longest_step
    second = (await deliveries(client, endpoint["id"]))[0]
    assert second["status"] == "failed"


def as_utc_str(value: str):
    return as_utc(datetime.fromisoformat(value))


async def test_two_dispatchers_over_one_database_deliver_each_event_once(app_with, db, receiver):
    app_a, client_a = await app_with()
    app_b, _ = await app_with()
    await register(client_a, receiver, path="/a")
    await register(client_a, receiver, path="/b")
    for n in range(10):
        await make_account(client_a, f"user_{n}", 10)
        await debit(client_a, f"user_{n}", 10)

    for _ in range(3):
        await asyncio.gather(_send(app_a), _send(app_b), _send(app_a), _send(app_b))

    pairs = [(r.path, r.headers["webhook-id"]) for r in receiver.received]
    assert len(pairs) == len(set(pairs)) == 40  # 20 events x 2 endpoints, each once
    assert all(r.verified for r in receiver.received)
    assert await db[DELIVERIES].count_documents({"status": "succeeded"}) == 40
    assert await db[DELIVERIES].count_documents({}) == 40


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(app, client, db, receiver):
    endpoint = await register(client, receiver)
    receiver.answers = [302]
    receiver.location = receiver.url + "/elsewhere"
    await make_account(client, "user_1", 100)

    await _send(app)

    assert [r.path for r in receiver.received] == ["/hook"]
    (delivery,) = await deliveries(client, endpoint["id"])
    assert delivery["status"] == "pending"
    assert delivery["last_attempt"]["status_code"] == 302


async def test_the_answer_body_is_kept_to_1_kib(app, client, db, receiver):
    endpoint = await register(client, receiver)
    receiver.answers = [500]
    receiver.answer_body = b"x" * 5000
    await make_account(client, "user_1", 100)

    await _send(app)

    (delivery,) = await deliveries(client, endpoint["id"])
    assert delivery["last_attempt"]["body"] == "x" * BODY_KEPT
    assert endpoint["secret"] not in str(await deliveries(client, endpoint["id"]))


async def test_no_answer_in_time_is_a_failure(app, client, db, receiver):
    endpoint = await register(client, receiver)
    app.state.services.dispatcher.timeout = 0.2  # the service's is 10 s; the receiver holds 10 s
    receiver.hold = threading.Event()
    await make_account(client, "user_1", 100)

    await _send(app)
    receiver.hold.set()

    (delivery,) = await deliveries(client, endpoint["id"])
    assert delivery["status"] == "pending"
    assert delivery["last_attempt"]["status_code"] is None
    assert "no answer within" in delivery["last_attempt"]["error"]


async def test_a_refused_connection_is_retried(app, client, db):
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/closed"}, headers=auth("events")
    )
    await make_account(client, "user_1", 100)

    await _send(app)

    (delivery,) = await deliveries(client, response.json()["id"])
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    assert delivery["last_attempt"]["error"].startswith("ConnectError")


async def test_the_list_pages_through_exactly_the_events_pushed(app, client, db, receiver):
    await register(client, receiver)
    await make_account(client, "user_1", 150)
    await set_threshold(client, "user_1", 100)
    for amount in (60, 50, 40):
        await debit(client, "user_1", amount)
    await grant(client, "user_1", 500)
    await make_account(client, "user_2", 5)
    await app.state.services.dispatcher.run_once()

    pushed = sorted(
        (r.event for r in receiver.received if r.event["account_id"] == "user_1"),
        key=lambda e: e["account_seq"],
    )
    pages, cursor = [], None
    while True:
        params = {
            "account_id": "user_1",
            "limit": 2,
            **({"starting_after": cursor} if cursor else {}),
        }
        body = (await client.get("/v1/events", params=params, headers=auth("reader"))).json()
        pages += body["data"]
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]

    assert pages == pushed and len(pushed) == 5
    assert all(r.verified for r in receiver.received)
    assert_numbered(pages)
    await assert_invariants(db, "user_1")
