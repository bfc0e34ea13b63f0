"""POST /webhooks/stripe refuses what Stripe did not sign, and stores nothing when it does."""

import time

import pytest
from stripe_fixtures import sign, to_body

from app.storage.database import CUSTOMERS, PAYMENTS, STRIPE_EVENTS
from tests.factories import assert_problem, make_account, snapshot
from tests.support.settings import WEBHOOK_SECRET as SECRET
from tests.webhooks.helpers import assert_every_account, get_account, send, send_ok, stored_event


async def _nothing_stored(db, before) -> None:
    for collection in (STRIPE_EVENTS, CUSTOMERS, PAYMENTS):
        assert await db[collection].count_documents({}) == 0
    assert await snapshot(db) == before


async def test_bad_signature_is_refused_and_nothing_is_stored(client, db, events):
    await make_account(client, "user_1", 10)
    before = await snapshot(db)

    r = await send(
        client, events.checkout_session_completed(account_id="user_1"), secret="whsec_someone_else"
    )

    assert_problem(r, 400, "invalid_signature")
    await _nothing_stored(db, before)
    await assert_every_account(db)


async def test_signature_over_a_changed_body_is_refused(client, db, events):
    before = await snapshot(db)
    body = to_body(events.checkout_session_completed(account_id="user_1"))
    header = sign(body, SECRET)

    r = await client.post(
        "/webhooks/stripe",
        content=body.replace(b"user_1", b"user_2"),
        headers={"Stripe-Signature": header},
    )

    assert_problem(r, 400, "invalid_signature")
    await _nothing_stored(db, before)
    await assert_every_account(db)


async def test_stale_timestamp_is_refused(client, db, events):
    before = await snapshot(db)

    r = await send(client, events.checkout_session_completed(), timestamp=int(time.time()) - 301)

    assert_problem(r, 400, "invalid_signature")
    await _nothing_stored(db, before)
    await assert_every_account(db)


async def test_body_over_one_mib_is_refused(client, db, events):
    before = await snapshot(db)
    event = events.checkout_session_completed(metadata={"padding": "x" * (1024 * 1024)})

    r = await send(client, event)

    assert_problem(r, 413, "payload_too_large")
    await _nothing_stored(db, before)
    await assert_every_account(db)


async def test_streamed_body_over_one_mib_without_length_is_refused(client, db):
    before = await snapshot(db)
    body = b'{"id":"evt_big","padding":"' + b"x" * (1024 * 1024) + b'"}'
    header = sign(body, SECRET)

    async def chunks():  # no Content-Length: the limit must hold while reading
        for i in range(0, len(body), 64 * 1024):
            yield body[i : i + 64 * 1024]

    r = await client.post(
        "/webhooks/stripe", content=chunks(), headers={"Stripe-Signature": header}
    )

    assert_problem(r, 413, "payload_too_large")
    await _nothing_stored(db, before)
    await assert_every_account(db)


async def test_signed_malformed_json_is_refused(client, db):
    before = await snapshot(db)
    body = b'{"id": "evt_1", "type": "invoice.paid", '
    r = await client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": sign(body, SECRET)}
    )

    assert_problem(r, 400, "invalid_payload")
    await _nothing_stored(db, before)
    await assert_every_account(db)


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "invoice.paid", "data": {"object": {}}}',
        b'[{"id": "evt_1"}]',
        b'{"id": 42}',
        b'{"id": "evt\\n1"}',
    ],
    ids=["no id", "a list", "numeric id", "id with a newline"],
)
async def test_signed_json_without_a_usable_event_id_is_refused(client, db, body):
    # Without an id there is nothing to record it under (events with one: test_payloads.py).
    before = await snapshot(db)
    r = await client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": sign(body, SECRET)}
    )

    assert_problem(r, 400, "invalid_payload")
    await _nothing_stored(db, before)
    await assert_every_account(db)


async def test_missing_signature_header_is_refused(client, db, events):
    before = await snapshot(db)

    r = await client.post("/webhooks/stripe", content=to_body(events.checkout_session_completed()))

    assert_problem(r, 400, "invalid_signature")
    await _nothing_stored(db, before)
    await assert_every_account(db)


async def test_signature_by_the_second_of_two_rotated_secrets_is_accepted(app_with, db, events):
    _, client = await app_with(stripe_webhook_secret="whsec_old, whsec_new")
    event = events.checkout_session_completed(customer="cus_1", account_id="user_1")

    r = await send(client, event, secret="whsec_new")

    assert r.status_code == 200, r.text
    assert r.json() == {"status": "processed"}
    assert (await stored_event(db, event["id"]))["status"] == "processed"
    assert (await get_account(client, "user_1"))["stripe_customer_id"] == "cus_1"
    await assert_every_account(db)


async def test_signature_by_the_first_rotated_secret_is_accepted(app_with, events, db):
    _, client = await app_with(stripe_webhook_secret="whsec_old,whsec_new")

    r = await send(client, events.checkout_session_completed(), secret="whsec_old")

    assert (r.status_code, r.json()) == (200, {"status": "processed"})
    await assert_every_account(db)


async def test_signature_by_a_retired_secret_is_refused(app_with, db, events):
    _, client = await app_with(stripe_webhook_secret="whsec_new")

    r = await send(client, events.checkout_session_completed(), secret="whsec_old")

    assert_problem(r, 400, "invalid_signature")
    assert await db[STRIPE_EVENTS].count_documents({}) == 0
    await assert_every_account(db)


async def test_webhooks_without_a_secret_are_refused(app_with, db, events):
    _, client = await app_with(stripe_webhook_secret="")

    r = await send(client, events.checkout_session_completed())

    assert_problem(r, 503, "webhooks_not_configured")
    assert await db[STRIPE_EVENTS].count_documents({}) == 0
    await assert_every_account(db)


async def test_accepted_event_is_stored_with_its_envelope(client, db, events):
    event = events.checkout_session_completed(customer="cus_1", account_id="user_1")

    assert await send_ok(client, event) == "processed"

    stored = await stored_event(db, event["id"])
    assert stored["type"] == "checkout.session.completed"
    assert stored["created"] == event["created"]
    assert stored["api_version"] == "2026-10-28.endive"
    assert stored["account_id"] == "user_1"
    assert stored["attempts"] == 1
    assert stored["error"] is None
    await assert_every_account(db)
