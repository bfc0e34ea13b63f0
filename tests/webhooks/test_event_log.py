"""The webhook event log: listing with filters and pages, replay of failed and parked events,
and only for the events:admin scope."""

import httpx
from pymongo.errors import AutoReconnect
from stripe_fixtures import MONTH

from tests.factories import assert_invariants, assert_problem
from tests.support.settings import auth
from tests.webhooks.helpers import (
    STARTER,
    assert_every_account,
    example_catalog,
    get_account,
    pack_checkout,
    send,
    send_ok,
    stored_event,
    webhook_events,
)


async def _replay(client, event_id: str, who: str = "events"):
    return await client.post(f"/v1/webhook-events/{event_id}/replay", headers=auth(who))


async def _three_kinds(client, events) -> dict[str, dict]:
    """A processed checkout, a parked invoice (unknown customer), an ignored event."""
    sent = {
        "processed": events.checkout_session_completed(customer="cus_1", account_id="user_1"),
        "parked": events.invoice_event(
            "invoice.paid", customer="cus_unknown", subscription="sub_x"
        ),
        "ignored": events.event("product.created", {"id": "prod_1", "object": "product"}),
    }
    for status, event in sent.items():
        assert await send_ok(client, event) == status
    return sent


async def test_event_log_lists_newest_first_with_the_spec_fields(client, events, db):
    sent = await _three_kinds(client, events)

    r = await webhook_events(client)

    assert r.status_code == 200, r.text
    page = r.json()
    assert [e["id"] for e in page["data"]] == [
        sent[s]["id"] for s in ("ignored", "parked", "processed")
    ]
    assert (page["has_more"], page["next_cursor"]) == (False, None)
    first = page["data"][-1]
    assert {
        "id",
        "type",
        "created",
        "api_version",
        "account_id",
        "status",
        "error",
        "attempts",
        "received_at",
    } <= first.keys()
    assert (first["type"], first["account_id"], first["attempts"]) == (
        "checkout.session.completed",
        "user_1",
        1,
    )
    assert "payload" not in first
    await assert_every_account(db)


async def test_event_log_filters_by_status(client, events, db):
    sent = await _three_kinds(client, events)

    r = await webhook_events(client, status="parked")

    assert [e["id"] for e in r.json()["data"]] == [sent["parked"]["id"]]
    await assert_every_account(db)


async def test_event_log_filters_by_type(client, events, db):
    sent = await _three_kinds(client, events)

    r = await webhook_events(client, type="checkout.session.completed")

    assert [e["id"] for e in r.json()["data"]] == [sent["processed"]["id"]]
    await assert_every_account(db)


async def test_event_log_pages_with_starting_after(client, events, db):
    sent = [events.customer_event("customer.updated", customer=f"cus_{i}") for i in range(5)]
    for event in sent:
        await send_ok(client, event)
    newest_first = [e["id"] for e in reversed(sent)]

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"starting_after": cursor} if cursor else {})}
        page = (await webhook_events(client, **params)).json()
        seen += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]

    assert seen == newest_first
    await assert_every_account(db)


async def test_event_log_pages_within_a_filter(client, events, db):
    for i in range(3):
        await send_ok(client, events.customer_event("customer.updated", customer=f"cus_{i}"))
        await send_ok(
            client, events.checkout_session_completed(customer=f"cus_c{i}", account_id=f"user_{i}")
        )

    first = (await webhook_events(client, status="ignored", limit=2)).json()
    rest = (
        await webhook_events(client, status="ignored", limit=2, starting_after=first["next_cursor"])
    ).json()

    assert first["has_more"] is True
    assert [e["status"] for e in first["data"] + rest["data"]] == ["ignored"] * 3
    assert rest["has_more"] is False
    await assert_every_account(db)


async def test_event_log_refuses_a_key_without_events_admin(client):
    r = await webhook_events(client, who="reader")

    assert_problem(r, 403, "forbidden")


async def test_event_log_refuses_no_token(client):
    assert_problem(await client.get("/v1/webhook-events"), 401, "unauthenticated")


async def test_event_log_rejects_an_unknown_status_filter(client):
    assert_problem(await webhook_events(client, status="bogus"), 422, "validation_error")


async def test_replay_of_a_processed_event_is_refused(client, db, events):
    sent = await _three_kinds(client, events)

    r = await _replay(client, sent["processed"]["id"])

    assert_problem(r, 409, "event_not_replayable")
    assert (await stored_event(db, sent["processed"]["id"]))["attempts"] == 1
    await assert_every_account(db)


async def test_replay_of_an_ignored_event_is_refused(client, events, db):
    sent = await _three_kinds(client, events)

    assert_problem(await _replay(client, sent["ignored"]["id"]), 409, "event_not_replayable")
    await assert_every_account(db)


async def test_replay_of_an_unknown_event_is_404(client):
    assert_problem(await _replay(client, "evt_nope"), 404, "event_not_found")


async def test_replay_refuses_a_key_without_events_admin(client, events, db):
    sent = await _three_kinds(client, events)

    assert_problem(await _replay(client, sent["parked"]["id"], who="worker"), 403, "forbidden")
    await assert_every_account(db)


async def test_replay_of_a_parked_event_still_unresolvable_stays_parked(client, db, events):
    sent = await _three_kinds(client, events)

    r = await _replay(client, sent["parked"]["id"])

    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["attempts"]) == ("parked", 2)
    await assert_every_account(db)


async def test_unknown_price_fails_with_an_error_naming_the_price(app_with, db, events):
    catalog = example_catalog()
    catalog["plans"]["starter"]["stripe_prices"] = ["price_starter_yearly"]
    _, client = await app_with(catalog)
    await send_ok(client, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    invoice = events.invoice_event(
        "invoice.paid",
        customer="cus_1",
        subscription="sub_1",
        price=STARTER,
        billing_reason="subscription_create",
    )

    r = await send(client, invoice)

    assert (r.status_code, r.json()) == (200, {"status": "failed"})

    stored = await stored_event(db, invoice["id"])
    assert stored["status"] == "failed"
    assert "price_starter_monthly" in stored["error"]
    assert "catalog" in stored["error"]
    listed = (await webhook_events(client, status="failed")).json()["data"]
    assert [(e["id"], e["error"]) for e in listed] == [(invoice["id"], stored["error"])]
    metrics = (await client.get("/metrics")).text
    assert 'credit_ledger_webhook_failures_total{reason="unknown_price"} 1' in metrics
    assert 'credit_ledger_webhook_events_total{status="failed",type="invoice.paid"} 1' in metrics
    acc = await get_account(client, "user_1")
    assert (acc["balance"], acc["subscription_status"]) == (0, "none")
    await assert_invariants(db, "user_1")


async def test_replay_after_fixing_the_catalog_applies_the_failed_events(app_with, db, events):
    broken = example_catalog()
    broken["plans"]["starter"]["stripe_prices"] = ["price_starter_yearly"]
    _, old = await app_with(broken)
    start = events.now
    sub = events.subscription_event(
        "created",
        subscription_id="sub_1",
        customer="cus_1",
        price=STARTER,
        period_start=start,
        period_end=start + MONTH,
    )
    invoice = events.invoice_event(
        "invoice.paid",
        customer="cus_1",
        subscription="sub_1",
        price=STARTER,
        billing_reason="subscription_create",
        period_start=start,
        period_end=start + MONTH,
    )
    await send_ok(old, events.checkout_session_completed(customer="cus_1", account_id="user_1"))
    assert [await send_ok(old, e) for e in (sub, invoice)] == ["failed", "failed"]

    _, fixed = await app_with(example_catalog())  # the service restarted on the fixed file
    for event in (sub, invoice):
        r = await _replay(fixed, event["id"])
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["error"], r.json()["attempts"]) == (
            "processed",
            None,
            2,
        )

    acc = await get_account(fixed, "user_1")
    assert (acc["subscription_status"], acc["plan"], acc["balance"]) == ("active", "starter", 1000)
    assert_problem(await _replay(fixed, invoice["id"]), 409, "event_not_replayable")
    await assert_invariants(db, "user_1")


async def test_failed_event_redelivered_by_stripe_stays_failed(app_with, db, events):
    broken = example_catalog()
    broken["packs"].pop("boost_2000")
    _, client = await app_with(broken)
    event = pack_checkout(events, pack="boost_2000")
    await send_ok(client, event)

    assert await send_ok(client, event) == "duplicate"

    stored = await stored_event(db, event["id"])
    assert (stored["status"], stored["attempts"]) == ("failed", 1)
    await assert_every_account(db)


async def test_event_left_received_by_a_transient_failure_can_be_replayed(
    app, db, events, monkeypatch
):
    """Stripe may stop retrying before the database is back: an operator replays it."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    customers = app.state.services.webhooks.stores.customers
    real = customers.account_for

    async def down(session, customer_id):
        raise AutoReconnect("primary stepped down")

    monkeypatch.setattr(customers, "account_for", down)
    event = events.checkout_session_completed(customer="cus_1", account_id="user_1")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await send(client, event)).status_code == 503  # database_unavailable
        assert (await stored_event(db, event["id"]))["status"] == "received"
        monkeypatch.setattr(customers, "account_for", real)

        r = await _replay(client, event["id"])

        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["attempts"]) == ("processed", 2)
        assert (await get_account(client, "user_1"))["stripe_customer_id"] == "cus_1"
    await assert_invariants(db, "user_1")
