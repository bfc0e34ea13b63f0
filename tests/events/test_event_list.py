"""GET /v1/events: oldest first after the cursor, filters, and the user-token rule."""

import time

import jwt

from tests.events.helpers import assert_numbered, events_of, set_threshold
from tests.factories import assert_invariants, assert_problem, debit, grant, make_account
from tests.support.settings import JWT_SECRET, auth


def user_token(account_id: str) -> dict[str, str]:
    token = jwt.encode(
        {"sub": account_id, "exp": int(time.time()) + 600}, JWT_SECRET, algorithm="HS256"
    )
    return {"Authorization": f"Bearer {token}"}


async def _story(client) -> None:
    await make_account(client, "user_1", 100)
    await make_account(client, "user_2", 100)
    await set_threshold(client, "user_1", 90)
    for _ in range(5):  # user_1: low, granted, recovered each time
        await debit(client, "user_1", 20)
        await grant(client, "user_1", 20)
        await grant(client, "user_2", 1)


async def test_pages_through_one_account_in_account_seq_order(client, db):
    await _story(client)
    everything = await events_of(client, "user_1")

    pages, cursor = [], None
    while True:
        params = {"account_id": "user_1", "limit": 2}
        if cursor:
            params["starting_after"] = cursor
        body = (await client.get("/v1/events", params=params, headers=auth("reader"))).json()
        pages.append(body["data"])
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]

    assert [e for page in pages for e in page] == everything
    assert all(len(page) <= 2 for page in pages) and len(pages) == 8
    assert {e["account_id"] for e in everything} == {"user_1"}
    assert_numbered(everything)
    await assert_invariants(db, "user_1")


async def test_a_cursor_returns_only_what_came_after(client, db):
    await make_account(client, "user_1", 100)
    seen = await events_of(client, "user_1")
    await debit(client, "user_1", 100)

    newer = await events_of(client, "user_1", starting_after=seen[-1]["id"])

    assert [e["type"] for e in newer] == ["balance.depleted"]
    assert newer[0]["account_seq"] == seen[-1]["account_seq"] + 1


async def test_list_of_all_accounts_and_filters(client, db, clock):
    await _story(client)
    start = clock.now()
    clock.advance(minutes=5)
    await grant(client, "user_2", 7)

    everyone = await events_of(client)
    granted = await events_of(client, type="credits.granted")
    recent = await events_of(client, created_gte=clock.now().isoformat())

    assert {e["account_id"] for e in everyone} == {"user_1", "user_2"}
    assert [e["id"] for e in everyone] == sorted(e["id"] for e in everyone)
    assert {e["type"] for e in granted} == {"credits.granted"} and len(granted) == 13
    assert [e["data"]["entry"]["amount"] for e in recent] == [7]
    assert all(e["created_at"] >= start.isoformat()[:19] for e in recent)


async def test_user_token_sees_its_own_account_only(client, db):
    await _story(client)

    own = await client.get("/v1/events", headers=user_token("user_1"))
    named = await client.get(
        "/v1/events", params={"account_id": "user_1"}, headers=user_token("user_1")
    )
    other = await client.get(
        "/v1/events", params={"account_id": "user_2"}, headers=user_token("user_1")
    )

    assert own.status_code == named.status_code == 200
    assert {e["account_id"] for e in own.json()["data"]} == {"user_1"}
    assert own.json() == named.json()
    assert_problem(other, 404, "account_not_found")


async def test_bad_queries_are_refused(client, db):
    await make_account(client, "user_2", 5)
    other = (await events_of(client, "user_2"))[0]["id"]

    for params in (
        {"limit": 0},
        {"limit": 101},
        {"type": "balance.nope"},
        {"starting_after": "le_123"},
        {"created_gte": "yesterday"},
        {"account_id": "bad id"},
    ):
        assert_problem(
            await client.get("/v1/events", params=params, headers=auth("reader")),
            422,
            "validation_error",
        )
    for params in (
        {"starting_after": "evt_" + "0" * 24},
        {"account_id": "user_1", "starting_after": other},
    ):
        assert_problem(
            await client.get("/v1/events", params=params, headers=auth("reader")),
            404,
            "cursor_not_found",
        )
    assert_problem(await client.get("/v1/events", headers=auth("granter")), 403, "forbidden")
    assert_problem(await client.get("/v1/events"), 401, "unauthenticated")
