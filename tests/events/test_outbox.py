"""Events are written in the transaction of their cause: exactly once, and only if it commits."""

from pymongo.errors import AutoReconnect

from app.ledger.repository import LedgerRepository
from app.storage.database import EVENTS
from tests.events.helpers import assert_numbered, events_of, types_of
from tests.factories import assert_invariants, debit, make_account
from tests.webhooks.helpers import send_ok, subscribe


async def test_a_debit_replayed_by_idempotency_key_makes_no_second_event(client, db):
    await make_account(client, "user_1", 100)

    first = await debit(client, "user_1", 100, key="gen-1")
    replay = await debit(client, "user_1", 100, key="gen-1")

    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await types_of(client, "user_1") == ["credits.granted", "balance.depleted"]
    await assert_invariants(db, "user_1")


async def test_a_stripe_event_delivered_twice_makes_no_new_event(client, db, events):
    await subscribe(client, events)
    before = await events_of(client, "user_1")
    invoice = events.invoice_event(
        "invoice.paid",
        invoice_id="in_again",
        customer="cus_1",
        subscription="sub_1",
        price="price_starter_monthly",
        billing_reason="subscription_cycle",
        # The next period: a second invoice for a period already credited grants nothing.
        period_start=events.now + 30 * 86400,
        period_end=events.now + 60 * 86400,
    )

    assert await send_ok(client, invoice) == "processed"
    after_first = await events_of(client, "user_1")
    assert await send_ok(client, invoice) == "duplicate"

    assert len(after_first) > len(before)
    assert await events_of(client, "user_1") == after_first
    assert_numbered(after_first)
    await assert_invariants(db, "user_1")


async def test_a_unit_of_work_that_fails_makes_no_event(client, db, monkeypatch):
    await make_account(client, "user_1", 100)
    before = await db[EVENTS].count_documents({})

    async def insert_fails(self, session, entry):
        raise AutoReconnect("primary stepped down")

    # The debit's balance moves, then its entry cannot be written: the unit of work fails.
    monkeypatch.setattr(LedgerRepository, "insert", insert_fails)
    r = await debit(client, "user_1", 100)

    # The database did not answer: the caller may retry (503), and nothing was recorded.
    assert r.status_code == 503 and r.json()["code"] == "database_unavailable"
    assert await db[EVENTS].count_documents({}) == before


async def test_a_refused_debit_makes_no_event(client, db):
    await make_account(client, "user_1", 10)

    assert (await debit(client, "user_1", 11)).status_code == 402

    assert await types_of(client, "user_1") == ["credits.granted"]
    await assert_invariants(db, "user_1")


async def test_granted_event_carries_the_entry_and_the_grant(client, db):
    await make_account(client, "user_1", 100)

    (event,) = await events_of(client, "user_1")

    assert event["type"] == "credits.granted" and event["account_seq"] == 1
    assert event["id"].startswith("evt_")
    assert event["data"]["entry"]["amount"] == 100
    assert event["data"]["grant"]["id"] == event["data"]["entry"]["grants"][0]["grant_id"]
    assert event["data"]["grant"]["kind"] == "bonus"
