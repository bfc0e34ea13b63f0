"""A debit's round trips with auto top-up: the same when it crosses nothing (the settings come
with the account the guarded write returns), one write more when a crossing records a top-up."""

from __future__ import annotations

from app.storage.database import TOPUPS
from tests.factories import debit, grant
from tests.test_call_budgets import BUDGETS, assert_budget, spent
from tests.topups.helpers import enable, linked_account, topups


async def test_debit_budget_with_auto_top_up(client, clock, db):
    await linked_account(client, clock)
    await grant(client, "user_1", 300)
    await enable(client, "user_1", threshold=100)
    db.calls.reset()
    assert (await debit(client, "user_1", 50)).status_code == 201  # 300 -> 250: no crossing
    assert_budget(db, "debit")
    assert (await debit(client, "user_1", 200)).status_code == 201  # 250 -> 50: crossing
    calls, commits, made = spent(db)
    assert (calls, commits) == (BUDGETS["debit"][0] + 1, 1), made
    assert db.calls.counts.get(("update_one", TOPUPS)) == 1
    db.calls.reset()
    assert (await debit(client, "user_1", 10)).status_code == 201  # below already: nothing
    assert_budget(db, "debit")
    assert len(await topups(client, "user_1")) == 1
