"""The round trips of each hot operation, pinned: a change that adds a collection call to one of
them fails here. Every call is a round trip on a replica set, and a transaction's length sets
how many requests a busy account can take (docs/design.md, "Calls per operation").

The budgets are the common case: nothing due to expire on the account, a key not seen before,
no outgoing event fired. They include the outgoing events' listener (app/outbox/recorder.py),
which decides on threshold crossings from the account the guarded write returned and so adds
nothing to a move that crosses no threshold; a crossing's own calls are pinned apart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.ledger.usage_batch import UNIT_ACCOUNTS
from app.storage.calls import COMMIT
from app.storage.database import ACCOUNTS, EVENT_STREAMS, EVENTS
from tests.events.helpers import set_threshold, types_of
from tests.factories import assert_invariants, capture, debit, grant, new_key, release, reserve
from tests.support.settings import auth

# What a unit that fires an event adds, whatever the operation: the stream's counter (numbers
# the event), the event, and the account's alert flags when the event changes them.
CROSSING = [
    ("find_one_and_update", EVENT_STREAMS),
    ("insert_one", EVENTS),
    ("update_one", ACCOUNTS),
]

BUDGETS = {  # operation: (collection calls, commits), the outbox listener's included
    "debit": (6, 1),
    "hold": (6, 1),  # MAX_HELD_RESERVATIONS: a clause of the account write (`holds`)
    "capture": (6, 1),
    "release": (5, 1),
    "account read": (1, 0),
    "access decision": (1, 0),
    "replay": (1, 0),
    # A debit that uses up a grant takes it off the account's list (once in a grant's life).
    "debit using up grants": (7, 1),
    # POST /v1/usage, whatever its records: the batch's keys (one read), then per unit of up to
    # UNIT_ACCOUNTS accounts the accounts, their grants, the accounts' guarded write, the
    # grants', the entries, the keys; a unit's used-up grants leave in its accounts' write.
    "usage batch, one unit": (1 + 6, 1),
    "usage batch, two units": (1 + 2 * 6, 2),
}


def spent(db) -> tuple[int, int, list[str]]:
    """(calls, commits, what they were) since the last reset."""
    counts = dict(db.calls.counts)
    calls = sum(n for key, n in counts.items() if key != COMMIT)
    return calls, counts.get(COMMIT, 0), db.calls.calls()


def assert_budget(db, operation: str) -> None:
    calls, commits, made = spent(db)
    budget_calls, budget_commits = BUDGETS[operation]
    assert (calls, commits) == (budget_calls, budget_commits), (
        f"{operation}: {calls} calls and {commits} commits, budget {budget_calls} and "
        f"{budget_commits}; made: {made}"
    )
    db.calls.reset()


@pytest.fixture
async def funded(client, db, clock):
    """An account with three grants (one expiring later, two never), nothing due."""
    for amount, expires in ((30, clock.now() + timedelta(days=30)), (40, None), (50, None)):
        response = await grant(client, "user_b", amount, expires_at=expires)
        assert response.status_code == 201
    db.calls.reset()
    return "user_b"


async def test_debit_from_three_grants_is_six_calls_and_a_commit(client, db, funded):
    response = await debit(client, funded, 100)  # takes from all three grants
    assert response.status_code == 201
    assert len(response.json()["entry"]["grants"]) == 3
    assert_budget(db, "debit using up grants")
    await assert_invariants(db, funded)


async def test_debit_from_one_grant_costs_the_same(client, db, funded):
    assert (await debit(client, funded, 5)).status_code == 201
    assert_budget(db, "debit")


async def test_hold_capture_and_release_budgets(client, db, funded):
    response = await reserve(client, funded, 90)
    assert response.status_code == 201
    assert_budget(db, "hold")
    assert (await capture(client, response.json()["id"], 60)).status_code == 200
    assert_budget(db, "capture")
    response = await reserve(client, funded, 20)
    db.calls.reset()
    assert (await release(client, response.json()["id"])).status_code == 200
    assert_budget(db, "release")
    await assert_invariants(db, funded)


async def test_no_crossing_touches_the_event_stream(client, db, funded):
    """A threshold is set and not crossed: the listener reads and writes nothing more."""
    assert (await set_threshold(client, funded, 10)).status_code == 200
    db.calls.reset()
    assert (await debit(client, funded, 5)).status_code == 201
    assert_budget(db, "debit")
    hold = (await reserve(client, funded, 5)).json()["id"]
    assert_budget(db, "hold")
    assert (await capture(client, hold, 5)).status_code == 200
    assert_budget(db, "capture")
    assert await types_of(client, funded, type="balance.low") == []


async def test_a_crossing_adds_the_counter_the_event_and_the_flags(client, db, funded):
    assert (await set_threshold(client, funded, 100)).status_code == 200
    db.calls.reset()
    made = db.calls.counts
    assert (await debit(client, funded, 25)).status_code == 201  # 120 -> 95: balance.low
    calls, commits, _ = spent(db)
    assert [made.get(call, 0) for call in CROSSING] == [1, 1, 1]
    assert (calls, commits) == (BUDGETS["debit"][0] + len(CROSSING), 1)
    db.calls.reset()
    assert (await debit(client, funded, 3)).status_code == 201  # fired already: no event
    assert_budget(db, "debit")
    assert await types_of(client, funded, type="balance.low") == ["balance.low"]
    await assert_invariants(db, funded)


async def test_reads_are_one_call_and_no_transaction(client, db, funded):
    response = await client.get(f"/v1/accounts/{funded}", headers=auth("reader"))
    assert response.status_code == 200
    assert_budget(db, "account read")
    response = await client.get(f"/v1/accounts/{funded}/access?cost=5", headers=auth("reader"))
    assert response.json()["allowed"] is True
    assert_budget(db, "access decision")


@pytest.mark.parametrize("operation", ["debit", "hold", "grant"])
async def test_replay_is_one_call_and_no_transaction(client, db, funded, operation):
    key = new_key("replay")
    first = {
        "debit": lambda: debit(client, funded, 3, key=key),
        "hold": lambda: reserve(client, funded, 3, key=key),
        "grant": lambda: grant(client, funded, 3, key=key),
    }[operation]
    assert (await first()).status_code == 201
    db.calls.reset()
    again = await first()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert_budget(db, "replay")


async def test_capture_replay_is_answered_from_the_hold(client, db, funded):
    hold = (await reserve(client, funded, 10)).json()["id"]
    key = new_key("cap")
    assert (await capture(client, hold, 4, key=key)).status_code == 200
    db.calls.reset()
    again = await capture(client, hold, 4, key=key)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert_budget(db, "replay")


async def test_a_due_grant_is_expired_first_then_the_debit_keeps_its_budget(
    client, db, clock, funded
):
    """Something due costs more (its own transaction); the next request is back to budget."""
    clock.advance(days=31)  # the 30-credit grant is due
    db.calls.reset()
    response = await debit(client, funded, 5)
    assert response.status_code == 201
    assert response.json()["account"]["balance"] == 85
    assert db.calls.commits == 2  # the expiry, then the debit
    db.calls.reset()
    assert (await debit(client, funded, 5)).status_code == 201
    assert_budget(db, "debit")
    await assert_invariants(db, funded)


def usage(account_id: str, n: int) -> dict:
    return {"account_id": account_id, "idempotency_key": new_key(f"u{n}"), "amount": 1}


async def send_usage(client, records: list[dict]) -> None:
    response = await client.post("/v1/usage", json={"records": records}, headers=auth("worker"))
    assert response.status_code == 200
    assert response.json()["counts"] == {"201": len(records)}


async def test_a_usage_batch_costs_the_same_calls_whatever_its_records(client, db, funded):
    for other in ("user_c", "user_d"):
        assert (await grant(client, other, 500)).status_code == 201
    db.calls.reset()
    await send_usage(client, [usage(funded, 0)])
    assert_budget(db, "usage batch, one unit")
    records = [usage(account, n) for n in range(100) for account in (funded, "user_c", "user_d")]
    await send_usage(client, records[:-1])  # 299 records; user_b uses up two of its grants
    assert_budget(db, "usage batch, one unit")
    for account in (funded, "user_c", "user_d"):
        await assert_invariants(db, account)


async def test_a_usage_batch_over_more_accounts_than_a_unit_takes_is_two_units(client, db):
    accounts = [f"acct_{n}" for n in range(UNIT_ACCOUNTS + 1)]
    for account in accounts:
        assert (await grant(client, account, 10)).status_code == 201
    db.calls.reset()
    await send_usage(client, [usage(account, n) for n in range(3) for account in accounts])
    assert_budget(db, "usage batch, two units")
    await assert_invariants(db, accounts[0])
