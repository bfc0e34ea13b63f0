"""Signed payloads the handlers cannot use: recorded `failed` with a clear error and a 200 (so
Stripe does not retry them for days), or a 400 with nothing stored when there is no event to
record; the event log lists fine before and after, even with unreadable events stored."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from stripe_fixtures import sign, to_body

from app.storage.database import ACCOUNTS, STRIPE_EVENTS
from tests.factories import assert_problem, snapshot
from tests.support.settings import WEBHOOK_SECRET, auth
from tests.webhooks.helpers import (
    assert_every_account,
    pack_checkout,
    send,
    stored_event,
    subscribe,
    webhook_events,
)


async def _failed(client, db, event: dict, *, says: str) -> dict:
    """Sends `event`; it must answer 200 `failed`, and be stored failed with an error that
    says `says`; the log must list it, filtered or not."""
    r = await send(client, event)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "failed"}
    stored = await stored_event(db, event["id"])
    assert stored["status"] == "failed"
    assert says in stored["error"], stored["error"]
    await _log_lists(client, event["id"], event.get("type"))
    return stored


async def _log_lists(client, event_id: str, type_: object = None) -> dict:
    listed = await webhook_events(client)
    assert listed.status_code == 200, listed.text
    mine = [e for e in listed.json()["data"] if e["id"] == event_id]
    assert len(mine) == 1
    for params in ({"status": "failed"}, {"type": type_} if isinstance(type_, str) else {}):
        r = await webhook_events(client, **params)
        assert r.status_code == 200, r.text
        assert event_id in [e["id"] for e in r.json()["data"]]
    return mine[0]


async def _no_account(db) -> None:
    assert await db[ACCOUNTS].count_documents({}) == 0


def _sign_bytes(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """A signature over the raw bytes, as any sender holding the secret could make one."""
    t = int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


# ---------------------------------------------------------------- times


async def test_created_far_in_the_future_is_a_failed_event_not_a_broken_log(client, db, events):
    event = events.checkout_session_completed(account_id="user_1", created=10**15)

    stored = await _failed(client, db, event, says="`created` 1000000000000000")

    assert stored["created"] is None  # not stored as a time nobody can read
    listed = await _log_lists(client, event["id"], event["type"])
    assert listed["created"] is None and listed["status"] == "failed"
    await _no_account(db)


@pytest.mark.parametrize("bad", [10**15, -1, "1700000000", 1.5e9, True])
async def test_an_unusable_period_end_fails_the_invoice(client, db, events, bad):
    await subscribe(client, events)
    before = await snapshot(db)
    invoice = events.invoice_event(
        "invoice.paid",
        billing_reason="subscription_cycle",
        period_start=events.now,
        period_end=events.now + 1,
    )
    invoice["data"]["object"]["lines"]["data"][0]["period"]["end"] = bad

    await _failed(client, db, invoice, says="period.end")

    assert await snapshot(db) == before
    await assert_every_account(db)


# ---------------------------------------------------------------- ids


@pytest.mark.parametrize("event_type", ["customer.updated", "checkout.session.completed"])
async def test_an_object_without_an_id_is_a_failed_event(client, db, events, event_type):
    if event_type == "customer.updated":
        event = events.customer_event(type="customer.updated", metadata={"account_id": "user_1"})
    else:
        event = events.checkout_session_completed(account_id="user_1")
    del event["data"]["object"]["id"]

    await _failed(client, db, event, says="`data.object.id`")

    await _no_account(db)


@pytest.mark.parametrize("account_id", ["acct\n", "wh_victim\n", "a b", "", "x" * 129, 42])
async def test_a_checkout_naming_a_bad_account_id_fails_and_creates_no_account(
    client, db, events, account_id
):
    event = pack_checkout(events, account="placeholder")
    event["data"]["object"]["client_reference_id"] = account_id

    await _failed(client, db, event, says="client_reference_id")

    await _no_account(db)


async def test_subscription_metadata_with_a_bad_account_id_fails(client, db, events):
    event = events.subscription_event("created", metadata={"account_id": "user_1\n"})

    await _failed(client, db, event, says="metadata.account_id")

    await _no_account(db)


async def test_a_customer_reference_that_is_not_a_stripe_id_fails(client, db, events):
    event = events.checkout_session_completed(account_id="user_1")
    event["data"]["object"]["customer"] = ["cus_1"]

    await _failed(client, db, event, says="data.object.customer")

    await _no_account(db)


# ---------------------------------------------------------------- types


async def test_a_subscription_status_of_the_wrong_type_fails(client, db, events):
    event = events.subscription_event("created", metadata={"account_id": "user_1"})
    event["data"]["object"]["status"] = ["active"]

    await _failed(client, db, event, says="data.object.status")

    await _no_account(db)


@pytest.mark.parametrize(
    ("field", "value"), [("amount", "1000"), ("amount_refunded", 2**64), ("amount", None)]
)
async def test_a_refund_with_unusable_amounts_changes_nothing(client, db, events, field, value):
    await send(client, pack_checkout(events, payment_intent="pi_pack"))
    before = await snapshot(db)
    event = events.charge_refunded(payment_intent="pi_pack", amount_refunded=500)
    event["data"]["object"][field] = value

    r = await send(client, event)

    assert r.status_code == 200, r.text
    after = await snapshot(db)
    if value is None:  # Stripe never leaves it out, but null is read as nothing to claw back
        assert r.json()["status"] == "ignored"
        # Its transaction's first write marked the payment's account (so that events of one
        # account conflict early); nothing else changed.
        assert after["accounts"][0].pop("last_stripe_event") == event["id"]
    else:
        assert r.json() == {"status": "failed"}
        assert field in (await stored_event(db, event["id"]))["error"]
    assert after == before
    await assert_every_account(db)


async def test_a_pack_whose_amount_total_overflows_int64_fails(client, db, events):
    event = pack_checkout(events, amount_total=10**30)

    await _failed(client, db, event, says="amount_total")

    await _no_account(db)


async def test_metadata_is_free_text_and_never_type_checked(client, db, events):
    event = pack_checkout(events, account="user_1")
    event["data"]["object"]["metadata"].update(created="yesterday", amount="lots", status="?")

    r = await send(client, event)

    assert r.json() == {"status": "processed"}
    await assert_every_account(db)


# ---------------------------------------------------------------- nesting and encoding


async def test_nesting_deeper_than_stripe_sends_is_a_failed_event(client, db, events):
    event = events.checkout_session_completed(account_id="user_1")
    deep: dict = {}
    event["data"]["object"]["custom_fields"] = [deep]
    for _ in range(100):
        deep["x"] = {}
        deep = deep["x"]

    await _failed(client, db, event, says="nests deeper than 32 levels")

    await _no_account(db)


async def test_nesting_too_deep_to_parse_is_400_and_stores_nothing(client, db):
    before = await snapshot(db)
    body = b'{"id": "evt_deep", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    r = await client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET)}
    )

    assert "deeper" in assert_problem(r, 400, "invalid_payload")["detail"]
    assert await snapshot(db) == before
    assert await db[STRIPE_EVENTS].count_documents({}) == 0


@pytest.mark.parametrize("signed_as", ["raw bytes", "decoded text"])
async def test_a_utf16_body_is_400_and_stores_nothing(client, db, events, signed_as):
    body = to_body(events.checkout_session_completed(account_id="user_1")).decode()
    body = body.encode("utf-16")
    header = (
        _sign_bytes(body)
        if signed_as == "raw bytes"
        else sign(body.decode("utf-8", errors="replace").encode(), WEBHOOK_SECRET)
    )

    r = await client.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": header})

    assert r.status_code == 400, r.text
    assert await db[STRIPE_EVENTS].count_documents({}) == 0
    await _no_account(db)
    assert (await webhook_events(client)).status_code == 200


# ---------------------------------------------------------------- the log and replays


async def test_a_failed_delivery_delivered_again_is_a_duplicate(client, db, events):
    event = events.checkout_session_completed(account_id="user_1", created=10**15)
    await _failed(client, db, event, says="created")

    r = await send(client, event)

    assert r.json() == {"status": "duplicate"}
    assert (await stored_event(db, event["id"]))["status"] == "failed"


async def test_events_stored_unreadable_before_the_check_still_list_and_replay_to_failed(
    client, db, events, clock
):
    # What older versions stored straight from a signed payload: out-of-range times, fields of
    # the wrong type; and a payload that no longer parses.
    await db[STRIPE_EVENTS].insert_many(
        [
            {
                "_id": "evt_old1",
                "type": "checkout.session.completed",
                "created": 10**15,
                "status": "received",
                "error": None,
                "attempts": 1,
                "received_at": clock.now(),
                "seq": "0001",
                "payload": '{"id": "evt_old1", "created": 1000000000000000}',
            },
            {
                "_id": "evt_old2",
                "type": 7,
                "created": "soon",
                "api_version": {"v": 1},
                "status": "received",
                "attempts": 0,
                "received_at": clock.now(),
                "seq": "0002",
                "payload": "\ufffd{",
            },
        ]
    )

    r = await webhook_events(client)

    assert r.status_code == 200, r.text
    shown = {e["id"]: e for e in r.json()["data"]}
    assert "created" in shown["evt_old1"]["error"] and shown["evt_old1"]["created"] is None
    assert "api_version" in shown["evt_old2"]["error"] and shown["evt_old2"]["type"] == ""
    assert (await webhook_events(client, type="checkout.session.completed")).status_code == 200
    for event_id in ("evt_old1", "evt_old2"):
        replayed = await client.post(
            f"/v1/webhook-events/{event_id}/replay", headers=auth("events")
        )
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["status"] == "failed"
        assert "unusable payload" in replayed.json()["error"]
    await _no_account(db)
    assert (await webhook_events(client)).status_code == 200
