"""An account's holds, newest first, by status; a user token sees only its own."""

from __future__ import annotations

from tests.factories import assert_problem, capture, make_account, release, reserve
from tests.reads.test_account_list import user_token
from tests.support.settings import auth


async def holds(client, account_id: str, headers=None, **params):
    return await client.get(
        f"/v1/accounts/{account_id}/reservations", params=params, headers=headers or auth("reader")
    )


async def test_lists_holds_newest_first_by_status_and_pages(client, clock):
    await make_account(client, "user_1", 500)
    made = []
    for amount in (10, 20, 30, 40, 50):
        made.append((await reserve(client, "user_1", amount)).json()["id"])
        clock.advance(seconds=1)
    assert (await capture(client, made[0], 5)).status_code == 200
    assert (await release(client, made[1])).status_code == 200
    body = (await holds(client, "user_1")).json()
    assert [r["id"] for r in body["data"]] == made[::-1]
    held = (await holds(client, "user_1", status="held")).json()["data"]
    assert [r["amount"] for r in held] == [50, 40, 30]
    assert [
        r["status"] for r in (await holds(client, "user_1", status="captured")).json()["data"]
    ] == ["captured"]
    first = (await holds(client, "user_1", limit=2)).json()
    second = (await holds(client, "user_1", limit=2, starting_after=first["next_cursor"])).json()
    third = (await holds(client, "user_1", limit=2, starting_after=second["next_cursor"])).json()
    assert [r["id"] for p in (first, second, third) for r in p["data"]] == made[::-1]
    assert third["has_more"] is False


async def test_a_user_reads_only_its_own_holds(client):
    await make_account(client, "user_1", 50)
    await make_account(client, "user_2", 50)
    assert (await holds(client, "user_1", user_token("user_1"))).status_code == 200
    assert_problem(await holds(client, "user_2", user_token("user_1")), 404, "account_not_found")
    assert_problem(await holds(client, "nobody"), 404, "account_not_found")
    assert_problem(await holds(client, "user_1", status="lost"), 422, "validation_error")
    assert_problem(await holds(client, "user_1", starting_after="x"), 422, "validation_error")
