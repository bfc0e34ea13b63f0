"""Listing and searching accounts: service keys only, by id prefix, customer id or email."""

from __future__ import annotations

import time

import jwt

from tests.factories import adjust, assert_problem, debit, make_account
from tests.support.settings import JWT_SECRET, auth
from tests.webhooks.helpers import subscribe


def user_token(account_id: str) -> dict[str, str]:
    now = int(time.time())
    token = jwt.encode({"sub": account_id, "exp": now + 600, "iat": now}, JWT_SECRET)
    return {"Authorization": f"Bearer {token}"}


async def list_accounts(client, who: str = "reader", **params):
    return await client.get("/v1/accounts", params=params, headers=auth(who))


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["data"]]


async def test_a_user_token_cannot_list_accounts(client):
    await make_account(client, "user_1", 10)
    assert_problem(await client.get("/v1/accounts", headers=user_token("user_1")), 403, "forbidden")
    assert_problem(await client.get("/v1/accounts"), 401, "unauthenticated")
    assert_problem(await list_accounts(client, "granter"), 403, "forbidden")


async def test_pages_in_id_order_without_gaps_or_repeats(client):
    for n in range(7):
        await make_account(client, f"acct_{n}", 10 + n)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"starting_after": cursor} if cursor else {})}
        body = (await list_accounts(client, **params)).json()
        seen += [a["id"] for a in body["data"]]
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
    assert seen == [f"acct_{n}" for n in range(7)]
    row = (await list_accounts(client, q="acct_3")).json()["data"][0]
    assert (row["balance"], row["available"], row["subscription_status"], row["plan"]) == (
        13,
        13,
        "none",
        None,
    )


async def test_search_by_id_prefix_customer_id_or_email(client, events):
    await make_account(client, "team-alpha", 10)
    await make_account(client, "team-beta", 10)
    await make_account(client, "solo", 10)
    await subscribe(client, events, account="paying", customer="cus_Paying1")
    assert ids(await list_accounts(client, q="team-")) == ["team-alpha", "team-beta"]
    assert ids(await list_accounts(client, q="cus_Paying1")) == ["paying"]
    # The email Stripe sent with the checkout, in any case.
    assert ids(await list_accounts(client, q="Buyer@Example.com")) == ["paying"]
    assert ids(await list_accounts(client, q="team.")) == []  # a prefix, not a pattern
    assert ids(await list_accounts(client, q="nobody")) == []


async def test_filter_by_status_and_low_balance(client, events):
    await subscribe(client, events, account="subscriber", customer="cus_S")
    await make_account(client, "rich", 1000)
    await make_account(client, "poor", 10)
    await make_account(client, "owing", 10)
    assert (await debit(client, "poor", 10)).status_code == 201  # depleted
    assert (await adjust(client, "owing", -50)).status_code == 201
    assert ids(await list_accounts(client, subscription_status="active")) == ["subscriber"]
    assert ids(await list_accounts(client, low_balance="true")) == ["owing", "poor"]
    assert ids(await list_accounts(client, low_balance="true", q="po")) == ["poor"]
    assert ids(await list_accounts(client, low_balance="true", subscription_status="active")) == []
    # Credits again: the alert recovers and the account leaves the list.
    await make_account(client, "poor", 100)
    assert ids(await list_accounts(client, low_balance="true")) == ["owing"]


async def test_bad_filters_are_422(client):
    for params in (
        {"limit": 0},
        {"limit": 101},
        {"subscription_status": "gold"},
        {"low_balance": "maybe"},
        {"starting_after": "a b"},
        {"q": "x" * 256},
    ):
        assert_problem(await list_accounts(client, **params), 422, "validation_error")
