"""Prices for the frontend: the card, what one account pays, the cost of usage before it runs;
and usage split by meter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.storage.database import ACCOUNTS
from tests.factories import capture, make_account
from tests.ledger.metered import T, use, write_rate_card
from tests.reads.test_account_list import user_token
from tests.support.settings import START, auth, make_settings


@pytest.fixture
def settings(tmp_path):
    return make_settings(plans_file=write_rate_card(tmp_path))


def user(account_id: str) -> dict[str, str]:
    return user_token(account_id)  # the Authorization header of a user's JWT


async def test_the_card_lists_current_and_scheduled_versions_to_a_user_token(client):
    await make_account(client, "user_1", 10)

    r = await client.get("/v1/rates", headers=user("user_1"))

    assert r.status_code == 200, r.text
    meters = {m["meter"]: m for m in r.json()["data"]}
    assert sorted(meters) == ["image.hd", "later", "odd_down", "odd_nearest", "tokens"]
    image = meters["image.hd"]["versions"]
    assert [(v["version"], v["status"], v["credits"]) for v in image] == [
        (1, "current", 3),
        (2, "scheduled", 5),
    ]
    assert image[0]["plans"] == {"pro": {"credits": 2, "per": 1}}
    assert [v["status"] for v in meters["later"]["versions"]] == ["scheduled"]


async def test_once_a_change_applies_the_card_shows_it_current_and_not_the_old_one(client, clock):
    clock.advance(seconds=(T - START).total_seconds())

    r = await client.get("/v1/rates", headers=auth("reader"))

    image = next(m for m in r.json()["data"] if m["meter"] == "image.hd")["versions"]
    assert [(v["version"], v["status"]) for v in image] == [(2, "current")]


async def test_an_account_sees_what_its_plan_pays_and_what_is_scheduled(client, db):
    await make_account(client, "user_1", 10)
    await db[ACCOUNTS].update_one({"_id": "user_1"}, {"$set": {"plan": "pro"}})

    r = await client.get("/v1/accounts/user_1/rates", headers=user("user_1"))

    assert r.status_code == 200, r.text
    assert r.json()["plan"] == "pro"
    rates = {x["meter"]: x for x in r.json()["data"]}
    assert "later" not in rates  # not priced yet
    assert rates["image.hd"]["unit_price"] == {"credits": 2, "per": 1}
    assert rates["image.hd"]["scheduled"]["unit_price"] == {"credits": 5, "per": 1}
    assert rates["tokens"]["unit_price"] == {"credits": 1, "per": 1000}
    assert rates["tokens"]["scheduled"] is None


async def test_a_user_token_reads_no_other_accounts_rates(client):
    await make_account(client, "user_1", 10)
    await make_account(client, "user_2", 10)

    r = await client.get("/v1/accounts/user_2/rates", headers=user("user_1"))

    assert r.status_code == 404


async def test_access_with_a_meter_answers_its_cost_after_the_carried_fraction(client):
    await make_account(client, "user_1", 2)
    await use(client, "user_1", "tokens", 500)  # 1 credit; half of it carried

    fits = await client.get(
        "/v1/accounts/user_1/access",
        params={"meter": "tokens", "quantity": 1500},
        headers=user("user_1"),
    )
    too_much = await client.get(
        "/v1/accounts/user_1/access",
        params={"meter": "tokens", "quantity": 1600},
        headers=user("user_1"),
    )

    assert fits.json()["allowed"] is True and fits.json()["cost"] == 1
    assert fits.json()["usage"]["unit_price"] == {"credits": 1, "per": 1000}
    assert too_much.json() == {**too_much.json(), "allowed": False, "cost": 2}
    assert too_much.json()["reason"] == "insufficient_credits"


async def test_access_with_an_unknown_meter_is_a_422(client):
    await make_account(client, "user_1", 2)

    r = await client.get(
        "/v1/accounts/user_1/access", params={"meter": "nope"}, headers=auth("reader")
    )

    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "meter"]


async def test_usage_splits_by_meter_with_quantities(client, clock):
    await make_account(client, "user_1", 1000)
    await use(client, "user_1", "image.hd", 2)
    await use(client, "user_1", "tokens", 1500)
    await use(client, "user_1", "tokens", 500)
    await client.post(
        "/v1/accounts/user_1/debits",
        json={"amount": 4},
        headers={**auth("worker"), "Idempotency-Key": "plain"},
    )
    held = await client.post(
        "/v1/accounts/user_1/reservations",
        json={"meter": "image.hd", "quantity": 1},
        headers={**auth("worker"), "Idempotency-Key": "h"},
    )
    await capture(client, held.json()["id"])
    clock.advance(hours=1)

    r = await client.get(
        "/v1/accounts/user_1/usage",
        params={"by_meter": "true", "from": (START - timedelta(days=1)).isoformat()},
        headers=user("user_1"),
    )

    assert r.status_code == 200, r.text
    totals = {g["value"]: g for g in r.json()["totals"]["groups"]}
    assert totals["image.hd"] == {"value": "image.hd", "credits": 9, "operations": 2, "quantity": 3}
    assert totals["tokens"] == {"value": "tokens", "credits": 2, "operations": 2, "quantity": 2000}
    assert totals[None]["credits"] == 4
    assert r.json()["totals"]["credits"] == 15


async def test_usage_is_split_by_meter_or_by_metadata_not_both(client):
    await make_account(client, "user_1", 10)

    r = await client.get(
        "/v1/accounts/user_1/usage",
        params={"by_meter": "true", "metadata_key": "feature"},
        headers=auth("reader"),
    )

    assert r.status_code == 422
