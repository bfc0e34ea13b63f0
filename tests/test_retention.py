"""Retention: Stripe events are forgotten after STRIPE_EVENT_RETENTION_DAYS; idempotency answers
after IDEMPOTENCY_ANSWER_RETENTION_DAYS, while their keys stay unique for good (a late retry
gets 409 `idempotency_key_expired`, never a second effect)."""

from __future__ import annotations

import httpx
import pytest
from stripe_fixtures import StripeEvents

from app.http.app import create_app
from app.kit.config import SettingsError, load_settings
from app.storage.database import IDEMPOTENCY, LEDGER, STRIPE_EVENTS
from tests.factories import assert_invariants, assert_problem, debit, make_account, snapshot
from tests.support.settings import make_settings
from tests.webhooks.helpers import send_ok, webhook_events

ACCOUNT = "user_1"


async def test_a_retry_replays_until_the_answer_is_dropped_then_gets_409(app, client, db, clock):
    await make_account(client, ACCOUNT, 100)
    first = await debit(client, ACCOUNT, 5, key="gen-1")
    assert first.status_code == 201

    clock.advance(days=89)
    await app.state.services.retention.run()
    replay = await debit(client, ACCOUNT, 5, key="gen-1")
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"

    clock.advance(days=2)
    forgotten = await app.state.services.retention.run()
    assert forgotten.idempotency_answers == 2  # the grant's answer and the debit's
    before = await snapshot(db)

    late = await debit(client, ACCOUNT, 5, key="gen-1")
    other = await debit(client, ACCOUNT, 6, key="gen-1")

    assert_problem(late, 409, "idempotency_key_expired")
    assert_problem(other, 409, "idempotency_key_reused")
    assert await snapshot(db) == before
    kept = await db[IDEMPOTENCY].find_one({"key": "gen-1"})
    assert "body" not in kept and kept["fingerprint"]  # the key stays; only the answer went
    assert await db[LEDGER].count_documents({"account_id": ACCOUNT, "type": "debit"}) == 1
    acc = await assert_invariants(db, ACCOUNT)
    assert acc["balance"] == 95


async def test_newer_answers_are_kept_when_older_ones_are_dropped(app, client, db, clock):
    await make_account(client, ACCOUNT, 100)
    old = await debit(client, ACCOUNT, 1, key="old")
    clock.advance(days=60)
    new = await debit(client, ACCOUNT, 1, key="new")
    clock.advance(days=31)

    await app.state.services.retention.run()

    assert_problem(await debit(client, ACCOUNT, 1, key="old"), 409, "idempotency_key_expired")
    assert (await debit(client, ACCOUNT, 1, key="new")).json() == new.json()
    assert old.status_code == 201
    await assert_invariants(db, ACCOUNT)


async def test_stripe_events_are_forgotten_after_the_retention(app, client, db, clock):
    events = StripeEvents("endive", now=int(clock.now().timestamp()))
    old = events.customer_event(customer="cus_old")
    assert await send_ok(client, old) == "ignored"
    clock.advance(days=300)
    events.now = int(clock.now().timestamp())
    recent = events.customer_event(customer="cus_new")
    assert await send_ok(client, recent) == "ignored"

    clock.advance(days=99)  # the old one is 399 days old
    assert (await app.state.services.retention.run()).stripe_events == 0
    clock.advance(days=2)
    assert (await app.state.services.retention.run()).stripe_events == 1

    listed = [e["id"] for e in (await webhook_events(client)).json()["data"]]
    assert listed == [recent["id"]]
    assert await db[STRIPE_EVENTS].find_one({"_id": old["id"]}) is None


async def test_the_answer_retention_is_a_setting(db, clock):
    app = create_app(
        make_settings(idempotency_answer_retention_days=1), db=db, clock=clock, sweeper=False
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await make_account(client, ACCOUNT, 100)
            assert (await debit(client, ACCOUNT, 1, key="k")).status_code == 201
            clock.advance(days=1, seconds=1)
            await app.state.services.retention.run()

            late = await debit(client, ACCOUNT, 1, key="k")

    assert_problem(late, 409, "idempotency_key_expired")
    await assert_invariants(db, ACCOUNT)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STRIPE_EVENT_RETENTION_DAYS", "30"),
        ("IDEMPOTENCY_ANSWER_RETENTION_DAYS", "0"),
        ("MAX_HELD_RESERVATIONS", "0"),
    ],
)
def test_unsafe_bounds_stop_the_start(monkeypatch, name, value):
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError, match=name):
        load_settings(_env_file=None)


def test_defaults():
    settings = load_settings(_env_file=None)

    assert (
        settings.max_held_reservations,
        settings.stripe_event_retention_days,
        settings.idempotency_answer_retention_days,
    ) == (1000, 400, 90)
