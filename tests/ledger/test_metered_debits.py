"""Debits and holds named by meter and quantity: priced by the rate card for the account's plan
at the usage's time, fractions carried per account and meter, a replay keeps its first price."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.storage.database import ACCOUNTS, LEDGER
from tests.factories import assert_invariants, make_account, new_key, snapshot
from tests.ledger.metered import T, use, write_rate_card
from tests.support.settings import START, auth, make_settings


@pytest.fixture
def settings(tmp_path):
    return make_settings(plans_file=write_rate_card(tmp_path))


def iso(when) -> str:
    return when.isoformat().replace("+00:00", "Z")


async def test_a_debit_by_meter_is_priced_by_the_card_and_says_how(client, db):
    await make_account(client, "user_1", 100)

    r = await use(client, "user_1", "image.hd", 2, key="img-1")

    assert r.status_code == 201, r.text
    entry = r.json()["entry"]
    assert entry["amount"] == -6
    assert r.json()["account"]["balance"] == 94
    assert entry["usage"] == {
        "meter": "image.hd",
        "quantity": 2,
        "occurred_at": iso(START),
        "plan": None,
        "rate_version": 1,
        "effective_from": "2026-01-01T00:00:00Z",
        "unit_price": {"credits": 3, "per": 1},
    }
    stored = await db[LEDGER].find_one({"_id": entry["id"]})
    assert stored["usage"]["meter"] == "image.hd" and stored["usage"]["quantity"] == 2
    await assert_invariants(db, "user_1")


async def test_the_plan_rate_applies_to_the_accounts_of_that_plan(client, db):
    await make_account(client, "user_1", 100)
    await db[ACCOUNTS].update_one({"_id": "user_1"}, {"$set": {"plan": "pro"}})

    r = await use(client, "user_1", "image.hd", 2)

    assert r.json()["entry"]["amount"] == -4
    assert r.json()["entry"]["usage"]["unit_price"] == {"credits": 2, "per": 1}
    assert r.json()["entry"]["usage"]["plan"] == "pro"


async def test_fractions_carry_to_the_next_usage_and_are_charged_once(client, db):
    await make_account(client, "user_1", 100)

    amounts = []
    for quantity in (1500, 400, 100, 1):  # 1.5, 1.9, 2.0, 2.001 credits in all, rounded up
        r = await use(client, "user_1", "tokens", quantity)
        assert r.status_code == 201, r.text
        amounts.append(r.json()["entry"]["amount"])

    assert amounts == [-2, 0, 0, -1]
    account = await db[ACCOUNTS].find_one({"_id": "user_1"})
    assert account["balance"] == 97
    assert account["meter_remainders"] == {"tokens": {"n": 1, "d": 1000}}
    await assert_invariants(db, "user_1")


async def test_remainders_are_kept_per_meter_and_per_account(client, db):
    await make_account(client, "user_1", 100)
    await make_account(client, "user_2", 100)

    first = await use(client, "user_1", "tokens", 500)
    other_meter = await use(client, "user_1", "odd_down", 1)
    other_account = await use(client, "user_2", "tokens", 500)
    second = await use(client, "user_1", "tokens", 500)

    assert [r.json()["entry"]["amount"] for r in (first, other_meter, other_account, second)] == [
        -1,
        0,
        -1,
        0,
    ]


async def test_usage_before_a_scheduled_change_is_priced_old_after_it_new_late_or_not(
    client, clock
):
    await make_account(client, "user_1", 1000)
    clock.advance(seconds=(T - START + timedelta(minutes=30)).total_seconds())  # now is after T

    late = await use(client, "user_1", "image.hd", 1, occurred_at=iso(T - timedelta(seconds=1)))
    at_t = await use(client, "user_1", "image.hd", 1, occurred_at=iso(T))
    now = await use(client, "user_1", "image.hd", 1)

    assert [r.json()["entry"]["amount"] for r in (late, at_t, now)] == [-3, -5, -5]
    assert [r.json()["entry"]["usage"]["rate_version"] for r in (late, at_t, now)] == [1, 2, 2]


async def test_a_replay_keeps_its_first_price_after_the_price_changed(client, clock, db):
    await make_account(client, "user_1", 100)
    first = await use(client, "user_1", "image.hd", 1, key="img-1")
    clock.advance(seconds=(T - START + timedelta(minutes=1)).total_seconds())

    again = await use(client, "user_1", "image.hd", 1, key="img-1")

    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.json()["entry"]["amount"] == -3
    assert (await db[ACCOUNTS].find_one({"_id": "user_1"}))["balance"] == 97


async def test_a_refused_usage_moves_no_remainder(client, db):
    await make_account(client, "user_1", 1)
    await use(client, "user_1", "tokens", 500)  # 1 credit, half of it carried
    before = await snapshot(db)

    refused = await use(client, "user_1", "tokens", 1600)  # 2 credits, none left

    assert refused.status_code == 402
    assert refused.json()["code"] == "insufficient_credits"
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"meter": "nope", "quantity": 1}, "meter"),
        ({"meter": "tokens"}, "quantity"),
        ({"quantity": 3}, "meter"),
        ({"meter": "tokens", "quantity": 0}, "quantity"),
        ({"meter": "tokens", "quantity": 1.5}, "quantity"),
        ({"meter": "tokens", "quantity": 1, "amount": 3}, "amount"),
        ({"meter": "tokens", "quantity": 1, "occurred_at": iso(START - timedelta(days=32))}, None),
        ({"meter": "tokens", "quantity": 1, "occurred_at": iso(START + timedelta(hours=1))}, None),
        ({"meter": "later", "quantity": 1}, "occurred_at"),
        ({"meter": "bad name!", "quantity": 1}, "meter"),
    ],
)
async def test_bad_usage_is_a_422_that_writes_nothing(client, db, body, field):
    await make_account(client, "user_1", 100)
    before = await snapshot(db)

    r = await client.post(
        "/v1/accounts/user_1/debits",
        json=body,
        headers={**auth("worker"), "Idempotency-Key": new_key()},
    )

    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "validation_error"
    if field is not None:
        assert field in r.json()["detail"]
    assert await snapshot(db) == before


async def test_a_hold_by_meter_is_priced_and_its_capture_records_the_usage(client, db):
    await make_account(client, "user_1", 100)

    held = await client.post(
        "/v1/accounts/user_1/reservations",
        json={"meter": "image.hd", "quantity": 3},
        headers={**auth("worker"), "Idempotency-Key": "h-1"},
    )
    assert held.status_code == 201, held.text
    assert held.json()["amount"] == 9
    assert held.json()["usage"]["meter"] == "image.hd"
    captured = await client.post(
        f"/v1/reservations/{held.json()['id']}/capture",
        json={},
        headers={**auth("worker"), "Idempotency-Key": "c-1"},
    )

    assert captured.status_code == 200, captured.text
    assert captured.json()["entry"]["amount"] == -9
    assert captured.json()["entry"]["usage"]["quantity"] == 3
    await assert_invariants(db, "user_1")


async def test_a_debit_by_meter_of_an_unknown_account_is_404(client, db):
    r = await use(client, "nobody", "image.hd", 1)

    assert r.status_code == 404
    assert r.json()["code"] == "account_not_found"


async def test_a_debit_or_hold_by_meter_costs_one_read_more_than_by_amount(client, db):
    """docs/design.md, "Calls per operation": the account is read first (its plan and
    remainders price the usage), then the debit's or hold's six calls and the commit."""
    await make_account(client, "user_1", 100)
    db.calls.reset()

    assert (await use(client, "user_1", "image.hd", 2)).status_code == 201
    assert (db.calls.total, db.calls.commits) == (7, 1), db.calls.calls()
    db.calls.reset()
    held = await client.post(
        "/v1/accounts/user_1/reservations",
        json={"meter": "image.hd", "quantity": 3},
        headers={**auth("worker"), "Idempotency-Key": "h-1"},
    )
    assert held.status_code == 201, held.text
    assert (db.calls.total, db.calls.commits) == (7, 1), db.calls.calls()
