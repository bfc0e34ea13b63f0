"""The background jobs isolate what fails: one account whose expiry fails is logged, counted in
/metrics and skipped; every other account, and every other job, still runs in that pass."""

from __future__ import annotations

from datetime import timedelta

from app.jobs.loop import run_jobs
from app.storage.database import EVENTS, GRANTS, IDEMPOTENCY, LEDGER
from tests.factories import assert_invariants, grant, make_account


async def _run_jobs(app) -> None:
    state = app.state.services
    await run_jobs(
        state.repos, state.notices, state.retention, state.catalog, state.clock.now(), state.metrics
    )


async def _failures(client) -> str:
    text = (await client.get("/metrics")).text
    return "\n".join(line for line in text.splitlines() if "job_failures_total{" in line)


async def test_one_account_whose_expiry_fails_leaves_the_rest_of_the_sweep_running(
    app, client, db, clock
):
    soon = clock.now() + timedelta(days=80)
    for account_id in ("a_user", "bad_user", "z_user"):
        await make_account(client, account_id, 10, expires_at=soon)
    # A grant that comes due in the pass's notice window, on an account that expires nothing.
    await make_account(client, "told_user", 5)
    await grant(client, "told_user", 7, expires_at=clock.now() + timedelta(days=93))
    # A stored document no code path can expire: its expiry raises inside its transaction.
    await db[GRANTS].update_one({"account_id": "bad_user"}, {"$set": {"remaining": "ten"}})
    clock.advance(days=91)  # past expiry of the three, the answers' retention, near told_user's

    await _run_jobs(app)

    for account_id in ("a_user", "z_user"):
        assert await db[LEDGER].count_documents({"account_id": account_id, "type": "expiry"}) == 1
        assert (await assert_invariants(db, account_id))["balance"] == 0
    assert await db[LEDGER].count_documents({"account_id": "bad_user", "type": "expiry"}) == 0
    notices = await db[EVENTS].count_documents({"type": "credits.expiring"})
    assert notices == 1  # the notice job ran after the failure
    kept = await db[IDEMPOTENCY].count_documents({"body": {"$exists": True}})
    assert kept == 0  # and so did retention
    assert await _failures(client) == 'credit_ledger_job_failures_total{job="expiry"} 1'

    # Repaired, the account expires on the next pass, and the failure count stays.
    await db[GRANTS].update_one({"account_id": "bad_user"}, {"$set": {"remaining": 10}})
    await _run_jobs(app)
    assert (await assert_invariants(db, "bad_user"))["balance"] == 0
    assert await _failures(client) == 'credit_ledger_job_failures_total{job="expiry"} 1'
