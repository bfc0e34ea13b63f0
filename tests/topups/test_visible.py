"""Top-ups where people look: their list (paged), the account's timeline, its console page."""

from __future__ import annotations

from tests.console.helpers import sign_in
from tests.factories import assert_problem, debit, grant
from tests.support.settings import auth
from tests.topups.helpers import enable, linked_account, run_job, topups


async def three_top_ups(app, client, clock, fake_stripe) -> None:
    await linked_account(client, clock)
    await grant(client, "user_1", 120)
    await enable(client, "user_1", threshold=100)
    fake_stripe.payments = ["paid", "decline", "paid"]
    for _ in range(3):
        level = (await client.get("/v1/accounts/user_1", headers=auth())).json()["available"]
        if level < 120:
            await grant(client, "user_1", 120 - level)
        else:
            await debit(client, "user_1", level - 120)
        await debit(client, "user_1", 30)
        assert await run_job(app) == 1


async def test_the_list_pages_newest_first(app, client, clock, fake_stripe):
    await three_top_ups(app, client, clock, fake_stripe)
    first = await client.get("/v1/accounts/user_1/topups?limit=2", headers=auth("reader"))
    body = first.json()
    assert [t["status"] for t in body["data"]] == ["succeeded", "failed"]
    assert body["has_more"] is True
    rest = await topups(client, "user_1", limit=2, starting_after=body["next_cursor"])
    assert [t["status"] for t in rest] == ["succeeded"]
    everything = await topups(client, "user_1")
    assert len({t["id"] for t in everything}) == 3
    unknown = await client.get(
        "/v1/accounts/user_1/topups?starting_after=tu_000000000000000000000000",
        headers=auth("reader"),
    )
    assert_problem(unknown, 404, "cursor_not_found")
    other = await client.get("/v1/accounts/nobody/topups", headers=auth("reader"))
    assert_problem(other, 404, "account_not_found")


async def test_the_timeline_and_the_console_show_them(app, client, clock, fake_stripe):
    await three_top_ups(app, client, clock, fake_stripe)
    timeline = await client.get("/v1/accounts/user_1/timeline?limit=100", headers=auth())
    items = [i for i in timeline.json()["data"] if i["kind"] == "topup"]
    assert [i["data"]["status"] for i in items] == ["succeeded", "failed", "succeeded"]
    assert "card_declined" in items[1]["summary"]
    assert (await sign_in(client)).status_code in (200, 303)
    page = await client.get("/console/accounts/user_1")
    assert page.status_code == 200
    html = page.text
    section = html[html.index('id="auto-topup"') :]
    assert "<strong>On</strong>" in section and "below 100 credits" in section
    assert section.count('class="topup-succeeded"') == 2
    assert "Your card has insufficient funds." in section
