"""The timeline: ledger, holds, Stripe events and outgoing events of one account, newest first,
paged by one cursor without gaps or repeats."""

from __future__ import annotations

import pytest

from app.storage.database import EVENTS, LEDGER, RESERVATIONS, STRIPE_EVENTS
from tests.factories import (
    assert_invariants,
    assert_problem,
    capture,
    debit,
    make_account,
    release,
    reserve,
)
from tests.support.settings import auth
from tests.webhooks.helpers import advance, pack_checkout, renewal_invoice, send_ok, subscribe

SOURCES = {
    "ledger_entry": LEDGER,
    "reservation": RESERVATIONS,
    "stripe_event": STRIPE_EVENTS,
    "event": EVENTS,
}


async def timeline(client, account_id: str, who: str = "events", **params):
    return await client.get(f"/v1/accounts/{account_id}/timeline", params=params, headers=auth(who))


async def whole_timeline(client, account_id: str, limit: int) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": limit, **({"starting_after": cursor} if cursor else {})}
        response = await timeline(client, account_id, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= limit
        items += body["data"]
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return items
        assert len(body["data"]) == limit
        cursor = body["next_cursor"]


async def a_customer_life(client, clock, events) -> None:
    """Checkout, two renewals, a failed payment and its recovery, debits, holds captured,
    released and expired, a pack bought and refunded: several items share an instant."""
    sub = await subscribe(client, events, account="user_1", customer="cus_1")
    for n in range(6):
        advance(clock, events, seconds=30)
        assert (
            await debit(client, "user_1", 5 + n, metadata={"feature": "image"})
        ).status_code == 201
    held = (await reserve(client, "user_1", 40)).json()
    assert (await capture(client, held["id"], 25)).status_code == 200
    assert (
        await release(client, (await reserve(client, "user_1", 10)).json()["id"])
    ).status_code == 200
    assert (await reserve(client, "user_1", 7, ttl_seconds=60)).status_code == 201
    advance(clock, events, days=1)
    assert (await debit(client, "user_1", 3)).status_code == 201  # the hold expires first
    assert (
        await send_ok(
            client,
            pack_checkout(events, account="user_1", customer="cus_1", payment_intent="pi_pack"),
        )
        == "processed"
    )
    advance(clock, events, days=2)
    assert (
        await send_ok(
            client,
            events.charge_refunded(charge_id="ch_pack", payment_intent="pi_pack", amount=1000),
        )
        == "processed"
    )
    period = sub["end"]
    advance(clock, events, seconds=period - events.now)
    assert await send_ok(client, renewal_invoice(events, period_start=period)) == "processed"
    advance(clock, events, days=30)
    failed = renewal_invoice(
        events, period_start=period + 30 * 86400, type="invoice.payment_failed"
    )
    assert await send_ok(client, failed) == "processed"
    advance(clock, events, days=1)
    assert (
        await send_ok(client, renewal_invoice(events, period_start=period + 30 * 86400))
        == "processed"
    )
    for n in range(3):
        assert (await debit(client, "user_1", 1 + n)).status_code == 201


@pytest.mark.slow
async def test_a_customer_life_lists_everything_newest_first_without_gaps_or_repeats(
    client, clock, events, db
):
    await a_customer_life(client, clock, events)
    stored = set()
    for kind, collection in SOURCES.items():
        for doc in await db[collection].find({"account_id": "user_1"}, {"_id": 1}).to_list(None):
            stored.add((kind, str(doc["_id"])))
    kinds = {kind for kind, _ in stored}
    assert kinds == set(SOURCES)
    whole = await whole_timeline(client, "user_1", limit=100)
    assert len(whole) == len(stored) > 35
    assert {(i["kind"], i["id"]) for i in whole} == stored
    times = [i["at"] for i in whole]
    assert times == sorted(times, reverse=True)
    # Every page size walks the same list: no gaps, no repeats.
    for limit in (1, 3, 7, 20):
        assert await whole_timeline(client, "user_1", limit=limit) == whole
    # The story is there: the refund's clawback, the failed payment, the expired hold.
    summaries = [i["summary"] for i in whole]
    assert any(s.startswith("clawback -") for s in summaries)
    assert any(s == "Stripe invoice.payment_failed processed" for s in summaries)
    assert any(s == "hold of 7 expired" for s in summaries)
    # Newest first: the last debit is the first entry.
    entries = [i for i in whole if i["kind"] == "ledger_entry"]
    assert [e["data"]["amount"] for e in entries[:3]] == [-3, -2, -1]
    await assert_invariants(db, "user_1")


async def test_items_of_one_instant_list_effects_above_their_cause(client, events):
    await subscribe(client, events, account="user_2", customer="cus_2", subscription="sub_2")
    first = (await timeline(client, "user_2", limit=100)).json()["data"]
    instant = [i for i in first if i["at"] == first[0]["at"]]
    kinds = [i["kind"] for i in instant]
    # invoice.paid: the events it sent, its grant, then the Stripe event itself.
    assert kinds.index("ledger_entry") < kinds.index("stripe_event")
    assert kinds == sorted(
        kinds, key=["event", "ledger_entry", "reservation", "stripe_event"].index
    )


async def test_the_timeline_is_for_operators_only(client, events):
    await subscribe(client, events, account="user_3", customer="cus_3", subscription="sub_3")
    assert_problem(await timeline(client, "user_3", who="reader"), 403, "forbidden")
    assert_problem(await timeline(client, "user_3", who="granter"), 403, "forbidden")
    assert_problem(await timeline(client, "nobody"), 404, "account_not_found")
    for cursor in ("x", "bm90IGpzb24", "WzEsIDksICJ4Il0"):  # not base64 json; rank 9
        assert_problem(
            await timeline(client, "user_3", starting_after=cursor), 422, "validation_error"
        )
    assert_problem(await timeline(client, "user_3", limit=0), 422, "validation_error")


async def test_entries_whose_ids_and_seqs_disagree_are_all_listed(client, db):
    """Concurrent commits on a replica set leave an entry's id (taken when its unit began) out
    of step with its seq (taken when it committed): the timeline pages by seq, and sorts by it."""
    await make_account(client, "user_4", 100)
    for amount in (1, 2, 3, 4):
        assert (await debit(client, "user_4", amount)).status_code == 201
    entries = await db[LEDGER].find({"account_id": "user_4"}).sort("seq", 1).to_list(None)
    ids = sorted(entry["_id"] for entry in entries)
    for entry, new_id in zip(entries, reversed(ids), strict=True):
        await db[LEDGER].delete_one({"_id": entry["_id"], "account_id": "user_4"})
        await db[LEDGER].insert_one({**entry, "_id": f"{new_id}x"})
    listed = await whole_timeline(client, "user_4", limit=1)
    amounts = [i["data"]["amount"] for i in listed if i["kind"] == "ledger_entry"]
    assert amounts == [-4, -3, -2, -1, 100]
