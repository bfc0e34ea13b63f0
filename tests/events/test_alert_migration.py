"""Alert state an older version kept on `event_streams` moves to the accounts at start-up, and
keeps working: the threshold set, a low alert already fired, the low_balance filter."""

from __future__ import annotations

import httpx

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.storage.database import ACCOUNTS, EVENT_STREAMS, MIGRATIONS
from tests.events.helpers import types_of
from tests.factories import assert_invariants, debit, grant, make_account
from tests.support.settings import START, auth


async def _serve(settings, db):
    app = create_app(settings, db=db, clock=FrozenClock(START), sweeper=False)
    return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_stream_alert_state_moves_to_the_account_once(db, settings):
    app, client = await _serve(settings, db)
    async with app.router.lifespan_context(app), client:
        await make_account(client, "old_1", 150)
        await make_account(client, "old_2", 150)
        assert (await debit(client, "old_1", 90)).status_code == 201  # 60 left
    # As an older version left them: threshold 100 set and low fired on old_1's stream.
    for account_id in ("old_1", "old_2"):
        await db[ACCOUNTS].update_one(
            {"_id": account_id},
            {
                "$unset": {
                    "low_balance_threshold_set": "",
                    "low_balance_threshold": "",
                    "low_fired": "",
                    "depleted_fired": "",
                }
            },
        )
    await db[EVENT_STREAMS].update_one(
        {"_id": "old_1"},
        {
            "$set": {
                "threshold_set": True,
                "low_balance_threshold": 100,
                "low_fired": True,
                "depleted_fired": False,
                "access_reason": None,
            }
        },
        upsert=True,
    )
    await db[MIGRATIONS].delete_many({"_id": "alert_state_on_accounts"})

    for start in range(2):  # the second start finds the marker and scans nothing
        app, client = await _serve(settings, db)
        async with app.router.lifespan_context(app), client:
            alerts = await client.get("/v1/accounts/old_1/alerts", headers=auth("reader"))
            assert (alerts.json()["low_balance_threshold"], alerts.json()["source"]) == (
                100,
                "account",
            )
            listed = await client.get(
                "/v1/accounts", params={"low_balance": "true"}, headers=auth("reader")
            )
            assert [a["id"] for a in listed.json()["data"]] == ["old_1"]
            if start == 0:
                # Fired already: no second balance.low; back above 100 it recovers, re-armed.
                assert (await debit(client, "old_1", 10)).status_code == 201
                assert await types_of(client, "old_1", type="balance.low") == []
                assert (await grant(client, "old_1", 100)).status_code == 201
                assert await types_of(client, "old_1", type="balance.recovered") == [
                    "balance.recovered"
                ]
                assert (await debit(client, "old_1", 100)).status_code == 201  # 50: low
                assert await types_of(client, "old_1", type="balance.low") == ["balance.low"]

    stream = await db[EVENT_STREAMS].find_one({"_id": "old_1"})
    assert not {"threshold_set", "low_balance_threshold", "low_fired"} & stream.keys()
    assert await db[MIGRATIONS].count_documents({"_id": "alert_state_on_accounts"}) == 1
    await assert_invariants(db, "old_1")
