"""Holds: reserve, capture (the rest is released), release, expiry; each resolves once."""

from datetime import timedelta

from app.ledger.expiry import sweep
from app.storage.database import ACCOUNTS, LEDGER, RESERVATIONS
from tests.factories import (
    account,
    assert_invariants,
    assert_problem,
    capture,
    debit,
    grant,
    ledger_page,
    live_grants,
    make_account,
    release,
    reserve,
    snapshot,
)
from tests.support.settings import auth


async def _hold(client, account_id: str, amount: int, **kw) -> str:
    r = await reserve(client, account_id, amount, **kw)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_reservation_sets_credits_aside(client, db, clock):
    await make_account(client, "user_1", 100)

    r = await reserve(client, "user_1", 50, ttl_seconds=600)

    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["account_id"], body["amount"], body["captured"], body["status"]) == (
        "user_1",
        50,
        0,
        "held",
    )
    assert body["expires_at"].startswith(
        (clock.now() + timedelta(seconds=600)).strftime("%Y-%m-%dT%H:%M:%S")
    )
    acc = await account(client, "user_1")
    assert (acc["balance"], acc["reserved"], acc["available"]) == (100, 50, 50)
    assert (await db[RESERVATIONS].find_one({"_id": body["id"]}))["status"] == "held"
    await assert_invariants(db, "user_1")


async def test_reservation_default_ttl_is_300_seconds(client, db, clock):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 10)

    stored = await db[RESERVATIONS].find_one({"_id": rid})

    assert stored["expires_at"].replace(tzinfo=None) == (
        clock.now() + timedelta(seconds=300)
    ).replace(tzinfo=None)
    await assert_invariants(db, "user_1")


async def test_reservation_beyond_available_is_refused_and_writes_nothing(client, db):
    await make_account(client, "user_1", 100)
    await _hold(client, "user_1", 60)
    before = await snapshot(db)

    r = await reserve(client, "user_1", 41)

    assert_problem(r, 402, "insufficient_credits")
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_capture_of_30_from_a_hold_of_50_spends_30_and_frees_20(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50)

    r = await capture(client, rid, 30)

    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["reservation"]["status"], body["reservation"]["captured"]) == ("captured", 30)
    entry = body["entry"]
    assert (entry["type"], entry["amount"], entry["balance_after"]) == ("capture", -30, 70)
    assert sum(p["amount"] for p in entry["grants"]) == -30
    acc = await account(client, "user_1")
    assert (acc["balance"], acc["reserved"], acc["available"]) == (70, 0, 70)
    # The answer carries the account after the capture, as a debit's does.
    assert body["account"] == acc
    stored = await db[LEDGER].find_one({"_id": entry["id"]})
    assert stored["reservation_id"] == rid and stored["amount"] == -30
    assert [g["remaining"] for g in await live_grants(client, "user_1")] == [70]
    await assert_invariants(db, "user_1")


async def test_capture_without_amount_spends_the_whole_hold(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 40)

    r = await capture(client, rid)

    assert r.status_code == 200, r.text
    assert r.json()["reservation"]["captured"] == 40
    assert r.json()["entry"]["amount"] == -40
    acc = await assert_invariants(db, "user_1")
    assert (acc["balance"], acc["reserved"]) == (60, 0)


async def test_capture_with_no_body_spends_the_whole_hold(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 40)

    r = await client.post(
        f"/v1/reservations/{rid}/capture",
        headers={**auth("worker"), "Idempotency-Key": "cap-nobody"},
    )

    assert r.status_code == 200, r.text
    assert r.json()["reservation"]["captured"] == 40
    await assert_invariants(db, "user_1")


async def test_second_capture_of_the_same_hold_is_409(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50)
    assert (await capture(client, rid, 30)).status_code == 200
    before = await snapshot(db)

    r = await capture(client, rid, 10)

    assert_problem(r, 409, "reservation_not_held")
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_release_after_capture_is_409(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50)
    assert (await capture(client, rid, 30)).status_code == 200
    before = await snapshot(db)

    r = await release(client, rid)

    assert_problem(r, 409, "reservation_not_held")
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_capture_after_release_is_409(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50)
    assert (await release(client, rid)).status_code == 200
    before = await snapshot(db)

    r = await capture(client, rid)

    assert_problem(r, 409, "reservation_not_held")
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_second_release_is_409(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50)
    assert (await release(client, rid)).status_code == 200

    r = await release(client, rid)

    assert_problem(r, 409, "reservation_not_held")
    await assert_invariants(db, "user_1")


async def test_release_returns_the_credits(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50)

    r = await release(client, rid)

    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["captured"]) == ("released", 0)
    acc = await account(client, "user_1")
    assert (acc["balance"], acc["reserved"], acc["available"]) == (100, 0, 100)
    assert [(g["remaining"], g["held"]) for g in await live_grants(client, "user_1")] == [(100, 0)]
    # A release moves no credits: no ledger entry.
    assert await db[LEDGER].count_documents({"account_id": "user_1"}) == 1
    await assert_invariants(db, "user_1")


async def test_capture_more_than_held_is_422_and_writes_nothing(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50)
    before = await snapshot(db)

    r = await capture(client, rid, 51)

    assert_problem(r, 422, "validation_error")
    assert await snapshot(db) == before
    assert (await client.get(f"/v1/reservations/{rid}", headers=auth("worker"))).json()[
        "status"
    ] == "held"
    await assert_invariants(db, "user_1")


async def test_exact_retry_of_a_capture_gets_the_first_answer(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50)
    first = await capture(client, rid, 30, key="cap-1")
    before = await snapshot(db)

    again = await capture(client, rid, 30, key="cap-1")

    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_retry_of_a_capture_with_another_amount_is_409(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50)
    assert (await capture(client, rid, 30, key="cap-1")).status_code == 200

    r = await capture(client, rid, 20, key="cap-1")

    assert_problem(r, 409, "idempotency_key_reused")
    await assert_invariants(db, "user_1")


async def test_hold_past_its_ttl_cannot_be_captured_and_its_credits_are_back(client, db, clock):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50, ttl_seconds=60)
    clock.advance(seconds=61)

    r = await capture(client, rid, 10)

    assert_problem(r, 409, "reservation_expired")
    acc = await account(client, "user_1")
    assert (acc["balance"], acc["reserved"], acc["available"]) == (100, 0, 100)
    assert (await db[RESERVATIONS].find_one({"_id": rid}))["status"] == "expired"
    assert await db[LEDGER].count_documents({"type": "capture"}) == 0
    await assert_invariants(db, "user_1")


async def test_hold_at_exactly_its_deadline_is_expired(client, db, clock):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50, ttl_seconds=60)
    clock.advance(seconds=60)

    assert_problem(await capture(client, rid), 409, "reservation_expired")
    await assert_invariants(db, "user_1")


async def test_hold_just_before_its_deadline_can_be_captured(client, db, clock):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50, ttl_seconds=60)
    clock.advance(seconds=59)

    r = await capture(client, rid)

    assert r.status_code == 200, r.text
    await assert_invariants(db, "user_1")


async def test_release_of_an_expired_hold_is_409(client, db, clock):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50, ttl_seconds=60)
    clock.advance(minutes=5)

    assert_problem(await release(client, rid), 409, "reservation_expired")
    await assert_invariants(db, "user_1")


async def test_expired_hold_shows_as_expired_and_frees_credits_on_read(client, db, clock):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50, ttl_seconds=60)
    clock.advance(minutes=2)

    r = await client.get(f"/v1/reservations/{rid}", headers=auth("worker"))

    assert r.status_code == 200, r.text
    assert r.json()["status"] == "expired"
    acc = await account(client, "user_1")
    assert (acc["reserved"], acc["available"]) == (0, 100)
    await assert_invariants(db, "user_1")


async def test_unknown_reservation_is_404(client, db):
    before = await snapshot(db)

    assert_problem(await capture(client, "rsv_missing"), 404, "reservation_not_found")
    assert_problem(await release(client, "rsv_missing"), 404, "reservation_not_found")
    r = await client.get("/v1/reservations/rsv_missing", headers=auth("worker"))
    assert_problem(r, 404, "reservation_not_found")
    assert await snapshot(db) == before


async def test_capture_spends_held_credits_of_a_grant_that_expired_during_the_hold(
    client, db, clock
):
    await make_account(client, "user_1", 50, expires_at=clock.now() + timedelta(minutes=5))
    rid = await _hold(client, "user_1", 40, ttl_seconds=3600)
    clock.advance(minutes=10)
    # The grant has expired: its 10 free credits go, the 40 held stay with the hold.
    acc = await account(client, "user_1")
    assert (acc["balance"], acc["reserved"], acc["available"]) == (40, 40, 0)
    await assert_invariants(db, "user_1")

    r = await capture(client, rid, 25)

    assert r.status_code == 200, r.text
    assert r.json()["entry"]["amount"] == -25
    # The 15 not captured belong to an expired grant: they expire now.
    expiries = await db[LEDGER].find({"type": "expiry"}).sort("_id", 1).to_list(None)
    assert [e["amount"] for e in expiries] == [-10, -15]
    acc = await account(client, "user_1")
    assert (acc["balance"], acc["reserved"], acc["available"]) == (0, 0, 0)
    await assert_invariants(db, "user_1")


async def test_release_after_the_grant_expired_turns_held_credits_into_an_expiry(client, db, clock):
    await make_account(client, "user_1", 50, expires_at=clock.now() + timedelta(minutes=5))
    await make_account(client, "user_1", 10, kind="compensation")
    rid = await _hold(client, "user_1", 50, ttl_seconds=3600)  # all from the expiring grant
    clock.advance(minutes=10)

    r = await release(client, rid)

    assert r.status_code == 200, r.text
    expiries = await db[LEDGER].find({"type": "expiry"}).to_list(None)
    assert [(e["amount"], e["balance_after"]) for e in expiries] == [(-50, 10)]
    acc = await account(client, "user_1")
    assert (acc["balance"], acc["reserved"], acc["available"]) == (10, 0, 10)
    await assert_invariants(db, "user_1")


async def test_hold_expiring_after_its_grant_expired_expires_the_held_credits(client, db, clock):
    await make_account(client, "user_1", 30, expires_at=clock.now() + timedelta(minutes=5))
    await _hold(client, "user_1", 30, ttl_seconds=600)
    clock.advance(minutes=11)

    acc = await account(client, "user_1")

    assert (acc["balance"], acc["reserved"]) == (0, 0)
    assert await db[LEDGER].count_documents({"type": "expiry"}) == 1
    await assert_invariants(db, "user_1")


async def test_capture_entry_and_ledger_listing_agree(client, db):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50)
    entry = (await capture(client, rid, 30)).json()["entry"]

    page = await ledger_page(client, "user_1")

    assert page["data"][0] == entry
    assert entry["source"] == f"reservation:{rid}"
    await assert_invariants(db, "user_1")


async def test_debit_after_partial_capture_may_spend_the_freed_credits(client, db):
    await make_account(client, "user_1", 50)
    rid = await _hold(client, "user_1", 50)
    await capture(client, rid, 30)

    r = await debit(client, "user_1", 20)

    assert r.status_code == 201, r.text
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 0
    assert (await db[ACCOUNTS].find_one({"_id": "user_1"}))["reserved"] == 0


async def test_grant_listing_counts_held_credits_in_remaining(client, db):
    await grant(client, "user_1", 100)
    await _hold(client, "user_1", 30)

    [g] = await live_grants(client, "user_1")

    assert (g["amount"], g["remaining"], g["held"]) == (100, 100, 30)
    await assert_invariants(db, "user_1")


async def test_sweep_expires_holds_of_accounts_nobody_touches(client, db, clock, app):
    await make_account(client, "user_1", 100)
    rid = await _hold(client, "user_1", 50, ttl_seconds=60)
    clock.advance(minutes=2)

    await sweep(app.state.services.repos, clock.now())

    stored = await db[RESERVATIONS].find_one({"_id": rid})
    assert stored["status"] == "expired"
    acc = await assert_invariants(db, "user_1")
    assert (acc["balance"], acc["reserved"]) == (100, 0)
