"""Spending order: soonest expiry first, never-expiring last, oldest first among equals."""

from datetime import timedelta

from app.storage.database import GRANTS
from tests.factories import (
    assert_invariants,
    capture,
    debit,
    grant,
    live_grants,
    make_account,
    reserve,
)


def _grant_id(response) -> str:
    assert response.status_code == 201, response.text
    return response.json()["entry"]["grants"][0]["grant_id"]


async def test_bonus_expiring_tomorrow_is_spent_before_a_grant_that_never_expires(
    client, db, clock
):
    # The never-expiring grant comes first, so only the order rule can put the bonus first.
    forever = _grant_id(await grant(client, "user_1", 100, kind="compensation"))
    bonus = _grant_id(
        await grant(client, "user_1", 30, kind="bonus", expires_at=clock.now() + timedelta(days=1))
    )

    r = await debit(client, "user_1", 40)

    assert r.status_code == 201, r.text
    parts = [(p["grant_id"], p["amount"]) for p in r.json()["entry"]["grants"]]
    assert parts == [(bonus, -30), (forever, -10)]
    remaining = {g["id"]: g["remaining"] for g in await live_grants(client, "user_1")}
    assert remaining == {forever: 90}
    assert (await db[GRANTS].find_one({"_id": bonus}))["remaining"] == 0
    await assert_invariants(db, "user_1")


async def test_soonest_expiry_is_spent_first_whatever_the_grant_order(client, db, clock):
    later = _grant_id(
        await grant(
            client, "user_1", 10, kind="promotional", expires_at=clock.now() + timedelta(days=7)
        )
    )
    sooner = _grant_id(
        await grant(client, "user_1", 10, kind="bonus", expires_at=clock.now() + timedelta(days=2))
    )

    r = await debit(client, "user_1", 15)

    parts = [(p["grant_id"], p["amount"]) for p in r.json()["entry"]["grants"]]
    assert parts == [(sooner, -10), (later, -5)]
    await assert_invariants(db, "user_1")


async def test_grants_with_the_same_expiry_are_spent_oldest_first(client, db, clock):
    older = _grant_id(await grant(client, "user_1", 10))
    clock.advance(minutes=1)
    newer = _grant_id(await grant(client, "user_1", 10))

    r = await debit(client, "user_1", 12)

    parts = [(p["grant_id"], p["amount"]) for p in r.json()["entry"]["grants"]]
    assert parts == [(older, -10), (newer, -2)]
    await assert_invariants(db, "user_1")


async def test_grants_are_listed_in_spending_order(client, db, clock):
    forever = _grant_id(await grant(client, "user_1", 5, kind="compensation"))
    week = _grant_id(await grant(client, "user_1", 5, expires_at=clock.now() + timedelta(days=7)))
    day = _grant_id(await grant(client, "user_1", 5, expires_at=clock.now() + timedelta(days=1)))

    listed = await live_grants(client, "user_1")

    assert [g["id"] for g in listed] == [day, week, forever]
    assert {g["kind"] for g in listed} == {"bonus", "compensation"}
    assert all(g["source"] == "api" for g in listed)
    await assert_invariants(db, "user_1")


async def test_spent_grants_leave_the_grant_list(client, db):
    spent = _grant_id(await grant(client, "user_1", 10))
    kept = _grant_id(await grant(client, "user_1", 10))

    await debit(client, "user_1", 10)

    assert [g["id"] for g in await live_grants(client, "user_1")] == [kept]
    assert (await db[GRANTS].find_one({"_id": spent}))["remaining"] == 0
    await assert_invariants(db, "user_1")


async def test_expired_grant_is_never_spent(client, db, clock):
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    forever = _grant_id(await grant(client, "user_1", 20, kind="compensation"))
    clock.advance(hours=2)

    r = await debit(client, "user_1", 15)

    assert r.status_code == 201, r.text
    assert [(p["grant_id"], p["amount"]) for p in r.json()["entry"]["grants"]] == [(forever, -15)]
    assert r.json()["account"]["balance"] == 5
    await assert_invariants(db, "user_1")


async def test_expired_grant_cannot_cover_a_debit(client, db, clock):
    await make_account(client, "user_1", 10, expires_at=clock.now() + timedelta(hours=1))
    clock.advance(hours=1)

    r = await debit(client, "user_1", 1)

    assert r.status_code == 402, r.text
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 0


async def test_hold_sets_aside_credits_in_spending_order(client, db, clock):
    forever = _grant_id(await grant(client, "user_1", 50, kind="compensation"))
    soon = _grant_id(await grant(client, "user_1", 20, expires_at=clock.now() + timedelta(days=1)))

    rid = (await reserve(client, "user_1", 30)).json()["id"]

    held = {g["id"]: g["held"] for g in await live_grants(client, "user_1")}
    assert held == {soon: 20, forever: 10}
    r = await capture(client, rid, 25)
    parts = [(p["grant_id"], p["amount"]) for p in r.json()["entry"]["grants"]]
    assert parts == [(soon, -20), (forever, -5)]
    remaining = {g["id"]: g["remaining"] for g in await live_grants(client, "user_1")}
    assert remaining == {forever: 45}
    await assert_invariants(db, "user_1")
