"""Idempotency-Key: one key does one thing per account; a retry gets the first answer again."""

from datetime import timedelta

from app.ledger.entries import Attribution
from app.ledger.grants import NewGrant, grant_credits
from tests.factories import (
    account,
    adjust,
    assert_invariants,
    assert_problem,
    capture,
    debit,
    grant,
    make_account,
    release,
    reserve,
    snapshot,
)
from tests.support.settings import auth


async def test_debit_retried_with_same_key_and_body_replays_the_first_answer(client, db):
    await make_account(client, "user_1", 100)
    first = await debit(client, "user_1", 10, key="job-1")
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    before = await snapshot(db)

    again = await debit(client, "user_1", 10, key="job-1")

    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await snapshot(db) == before
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 90


async def test_debit_key_reused_with_another_body_is_409_and_changes_nothing(client, db):
    await make_account(client, "user_1", 100)
    assert (await debit(client, "user_1", 10, key="job-1")).status_code == 201
    before = await snapshot(db)

    r = await debit(client, "user_1", 11, key="job-1")

    assert_problem(r, 409, "idempotency_key_reused")
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_key_reused_with_another_description_is_409(client, db):
    await make_account(client, "user_1", 100)
    assert (await debit(client, "user_1", 10, key="job-1", description="a")).status_code == 201

    r = await debit(client, "user_1", 10, key="job-1", description="b")

    assert_problem(r, 409, "idempotency_key_reused")
    await assert_invariants(db, "user_1")


async def test_same_key_on_another_endpoint_of_the_account_is_409(client, db):
    await make_account(client, "user_1", 100)
    assert (await debit(client, "user_1", 10, key="shared")).status_code == 201
    before = await snapshot(db)

    r = await reserve(client, "user_1", 10, key="shared")

    assert_problem(r, 409, "idempotency_key_reused")
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_same_key_on_another_account_is_independent(client, db):
    await make_account(client, "user_1", 100)
    await make_account(client, "user_2", 100)
    assert (await debit(client, "user_1", 10, key="shared")).status_code == 201

    r = await debit(client, "user_2", 10, key="shared")

    assert r.status_code == 201, r.text
    assert "idempotent-replayed" not in r.headers
    assert r.json()["account"]["id"] == "user_2"
    assert (await assert_invariants(db, "user_1"))["balance"] == 90
    assert (await assert_invariants(db, "user_2"))["balance"] == 90


async def test_refused_debit_stores_nothing_so_its_key_works_after_a_top_up(client, db):
    await make_account(client, "user_1", 5)
    before = await snapshot(db)
    assert_problem(await debit(client, "user_1", 10, key="job-1"), 402, "insufficient_credits")
    assert await snapshot(db) == before
    await make_account(client, "user_1", 20)

    r = await debit(client, "user_1", 10, key="job-1")

    assert r.status_code == 201, r.text
    assert "idempotent-replayed" not in r.headers
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 15


async def test_grant_retried_with_same_key_grants_once(client, db):
    first = await grant(client, "user_1", 50, key="promo-1")
    assert first.status_code == 201, first.text

    again = await grant(client, "user_1", 50, key="promo-1")

    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 50


async def test_reservation_retried_with_same_key_holds_once(client, db):
    await make_account(client, "user_1", 100)
    first = await reserve(client, "user_1", 40, key="hold-1")
    assert first.status_code == 201, first.text

    again = await reserve(client, "user_1", 40, key="hold-1")

    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    acc = await assert_invariants(db, "user_1")
    assert acc["reserved"] == 40


async def test_release_retried_with_same_key_replays(client, db):
    await make_account(client, "user_1", 100)
    rid = (await reserve(client, "user_1", 40)).json()["id"]
    first = await release(client, rid, key="rel-1")
    assert first.status_code == 200, first.text
    before = await snapshot(db)

    again = await release(client, rid, key="rel-1")

    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_adjustment_retried_with_same_key_adjusts_once(client, db):
    await make_account(client, "user_1", 100)
    first = await adjust(client, "user_1", -30, key="fix-1")
    assert first.status_code == 201, first.text

    again = await adjust(client, "user_1", -30, key="fix-1")

    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 70


async def test_capture_key_reused_on_another_reservation_is_409(client, db):
    await make_account(client, "user_1", 100)
    first = (await reserve(client, "user_1", 10)).json()["id"]
    second = (await reserve(client, "user_1", 10)).json()["id"]
    assert (await capture(client, first, key="cap")).status_code == 200
    before = await snapshot(db)

    r = await capture(client, second, key="cap")

    assert_problem(r, 409, "idempotency_key_reused")
    assert await snapshot(db) == before
    await assert_invariants(db, "user_1")


async def test_replayed_answer_is_the_first_even_after_the_account_changed(client, db):
    await make_account(client, "user_1", 100)
    first = await debit(client, "user_1", 10, key="job-1")
    await debit(client, "user_1", 5)

    again = await debit(client, "user_1", 10, key="job-1")

    assert again.json()["account"]["balance"] == 90
    r = await client.get("/v1/accounts/user_1", headers=auth("reader"))
    assert r.json()["balance"] == 85
    assert again.json() == first.json()
    await assert_invariants(db, "user_1")


async def test_key_with_a_stripe_grant_prefix_is_refused_and_changes_nothing(
    client, db, app, clock
):
    # Stripe grants key their ledger entries by the Stripe object (no API idempotency record).
    repos = app.state.services.repos
    await repos.db.transaction(
        lambda session: grant_credits(
            session,
            repos,
            NewGrant(
                "user_1",
                100,
                "purchase",
                by=Attribution("stripe:checkout", "checkout:cs_1", "stripe"),
            ),
            clock.now(),
        )
    )
    before = await snapshot(db)

    answers = [
        await debit(client, "user_1", 10, key="checkout:cs_1"),
        await reserve(client, "user_1", 10, key="checkout:cs_1"),
        await grant(client, "user_1", 10, key="checkout:cs_1"),
        await adjust(client, "user_1", -10, key="checkout:cs_1"),
    ]

    # Stripe's grant keys are reserved, so an API request can neither hit nor block one.
    for r in answers:
        assert_problem(r, 400, "idempotency_key_invalid")
    assert await snapshot(db) == before
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 100


async def test_grant_retried_after_its_expiry_passed_still_replays(client, db, clock):
    expires = clock.now() + timedelta(hours=1)
    first = await grant(client, "user_1", 50, expires_at=expires, key="promo-1")
    assert first.status_code == 201, first.text
    clock.advance(hours=2)

    again = await grant(client, "user_1", 50, expires_at=expires, key="promo-1")

    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    # The grant itself has expired meanwhile.
    assert (await account(client, "user_1"))["balance"] == 0
    await assert_invariants(db, "user_1")
