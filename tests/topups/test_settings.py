"""PUT/GET /v1/accounts/{id}/auto-topup: what can be set, the plan's defaults, and the 422s
(each writes nothing)."""

from __future__ import annotations

import pytest

from app.storage.database import TOPUPS
from tests.factories import assert_problem, grant, make_account
from tests.support.settings import auth
from tests.topups.helpers import enable, linked_account, put_settings


async def test_settings_round_trip(client, clock):
    await linked_account(client, clock)
    shown = await enable(client, "user_1", threshold=50, pack="boost_500", target_balance=900)
    assert shown["enabled"] is True and shown["source"] == "account"
    assert (shown["threshold"], shown["target_balance"], shown["quantity"]) == (50, 900, None)
    got = await client.get("/v1/accounts/user_1/auto-topup", headers=auth("granter"))
    assert got.json() == shown
    off = await put_settings(client, "user_1", enabled=False)
    assert off.status_code == 200 and off.json()["enabled"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"threshold": 100, "pack": "nope", "monthly_cap_packs": 2}, "pack"),
        ({"pack": "boost_500", "monthly_cap_packs": 2}, "threshold"),
        ({"threshold": 100, "monthly_cap_packs": 2}, "pack"),
        ({"threshold": 100, "pack": "boost_500"}, "monthly_cap_packs"),
        (
            {
                "threshold": 100,
                "pack": "boost_500",
                "monthly_cap_packs": 2,
                "quantity": 1,
                "target_balance": 500,
            },
            "target_balance",
        ),
        (
            {"threshold": 100, "pack": "boost_500", "monthly_cap_packs": 2, "target_balance": 100},
            "target_balance",
        ),
        (
            {
                "threshold": 100,
                "pack": "boost_500",
                "monthly_cap_packs": 2,
                "monthly_cap_amount": 5000,
            },
            "monthly_cap_amount",
        ),
        ({"threshold": 0, "pack": "boost_500", "monthly_cap_packs": 2}, "threshold"),
        ({"threshold": 1.5, "pack": "boost_500", "monthly_cap_packs": 2}, "threshold"),
        (
            {"threshold": 100, "pack": "boost_500", "monthly_cap_packs": 2, "quantity": 101},
            "quantity",
        ),
        (
            {
                "threshold": 100,
                "pack": "boost_500",
                "monthly_cap_packs": 2,
                "payment_method": "tok_visa",
            },
            "payment_method",
        ),
    ],
)
async def test_bad_settings_are_422_naming_the_field_and_change_nothing(client, clock, body, field):
    await linked_account(client, clock)
    response = await put_settings(client, "user_1", enabled=True, **body)
    problem = assert_problem(response, 422, "validation_error")
    assert field in {error["loc"][-1] for error in problem["errors"]}, problem
    got = await client.get("/v1/accounts/user_1/auto-topup", headers=auth("granter"))
    assert got.json()["enabled"] is False and got.json()["source"] == "none"


async def test_an_account_without_stripe_customer_cannot_enable(client, db):
    await make_account(client, "user_2", 500)
    response = await enable_raw(client, "user_2")
    assert_problem(response, 422, "stripe_customer_missing")
    assert await db[TOPUPS].count_documents({}) == 0


async def test_unknown_account_is_404(client):
    response = await enable_raw(client, "nobody")
    assert_problem(response, 404, "account_not_found")


async def test_scope_credits_grant(client, clock):
    await linked_account(client, clock)
    response = await client.get("/v1/accounts/user_1/auto-topup", headers=auth("reader"))
    assert response.status_code == 403


async def test_plan_defaults_fill_what_the_put_leaves_out(client, clock, db):
    """The example catalog gives plan `scale` auto top-up defaults."""
    await linked_account(client, clock)
    await db["accounts"].update_one({"_id": "user_1"}, {"$set": {"plan": "scale"}})
    before = (await client.get("/v1/accounts/user_1/auto-topup", headers=auth("granter"))).json()
    assert (before["source"], before["enabled"], before["threshold"]) == ("plan", False, 2000)
    response = await put_settings(client, "user_1", enabled=True, quantity=2)
    assert response.status_code == 200, response.text
    shown = response.json()
    # The request's quantity replaces the plan's target_balance (one way to say what to buy).
    assert (shown["threshold"], shown["pack"], shown["quantity"]) == (2000, "boost_500", 2)
    assert shown["target_balance"] is None
    assert shown["monthly_cap_packs"] == 20 and shown["source"] == "account"


async def test_enabling_below_the_threshold_records_a_top_up(client, clock, db):
    await linked_account(client, clock)
    await grant(client, "user_1", 40)
    await enable(client, "user_1", threshold=100)
    await enable(client, "user_1", threshold=100)  # saved again: still one
    assert await db[TOPUPS].count_documents({"account_id": "user_1"}) == 1


async def enable_raw(client, account: str):
    return await put_settings(
        client, account, enabled=True, threshold=100, pack="boost_500", monthly_cap_packs=3
    )
