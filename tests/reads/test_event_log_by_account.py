"""The Stripe event log filtered by account."""

from __future__ import annotations

from tests.factories import assert_problem
from tests.webhooks.helpers import subscribe, webhook_events


async def test_account_id_filters_the_log_and_combines_with_status(client, events):
    await subscribe(client, events, account="user_a", customer="cus_a", subscription="sub_a")
    await subscribe(client, events, account="user_b", customer="cus_b", subscription="sub_b")
    mine = (await webhook_events(client, account_id="user_a")).json()["data"]
    assert len(mine) == 3 and {e["account_id"] for e in mine} == {"user_a"}
    all_events = (await webhook_events(client)).json()["data"]
    assert [e["id"] for e in all_events if e["account_id"] == "user_a"] == [e["id"] for e in mine]
    page = (await webhook_events(client, account_id="user_a", limit=2)).json()
    rest = (
        await webhook_events(client, account_id="user_a", starting_after=page["next_cursor"])
    ).json()
    assert [e["id"] for e in page["data"] + rest["data"]] == [e["id"] for e in mine]
    assert (await webhook_events(client, account_id="user_a", status="failed")).json()["data"] == []
    assert (await webhook_events(client, account_id="nobody")).json()["data"] == []
    assert_problem(await webhook_events(client, account_id="a b"), 422, "validation_error")
    assert_problem(await webhook_events(client, "reader", account_id="user_a"), 403, "forbidden")
