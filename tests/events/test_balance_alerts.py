"""balance.low / depleted / recovered: fired once per crossing, re-armed at the threshold."""

import pytest

from app.kit.config import SettingsError, load_settings
from app.storage.database import EVENT_STREAMS
from tests.events.helpers import assert_numbered, events_of, set_threshold, types_of
from tests.factories import (
    adjust,
    assert_invariants,
    assert_problem,
    debit,
    grant,
    make_account,
    reserve,
    snapshot,
)
from tests.support.settings import auth
from tests.webhooks.helpers import example_catalog

BALANCE = ("balance.low", "balance.depleted", "balance.recovered")


async def _balance_events(client, account_id="user_1") -> list[dict]:
    return [e for e in await events_of(client, account_id) if e["type"] in BALANCE]


async def test_falling_150_90_40_0_fires_one_low_and_one_depleted(client, db):
    await make_account(client, "user_1", 150)
    assert (await set_threshold(client, "user_1", 100)).status_code == 200

    for amount in (60, 50, 40):
        assert (await debit(client, "user_1", amount)).status_code == 201

    alerts = await _balance_events(client)
    assert [e["type"] for e in alerts] == ["balance.low", "balance.depleted"]
    assert alerts[0]["data"]["available"] == 90 and alerts[0]["data"]["threshold"] == 100
    assert alerts[1]["data"]["available"] == 0
    assert alerts[1]["data"]["account"]["available"] == 0
    assert_numbered(await events_of(client, "user_1"))
    await assert_invariants(db, "user_1")


async def test_grant_back_to_500_recovers_once_and_the_next_fall_fires_low_again(client, db):
    await make_account(client, "user_1", 150)
    await set_threshold(client, "user_1", 100)
    for amount in (60, 50, 40):
        await debit(client, "user_1", amount)

    assert (await grant(client, "user_1", 500)).status_code == 201
    assert (await debit(client, "user_1", 450)).status_code == 201

    alerts = await _balance_events(client)
    assert [e["type"] for e in alerts] == [
        "balance.low",
        "balance.depleted",
        "balance.recovered",
        "balance.low",
    ]
    assert alerts[2]["data"] | {"account": None} == {
        "available": 500,
        "threshold": 100,
        "account": None,
    }
    assert alerts[3]["data"]["available"] == 50
    await assert_invariants(db, "user_1")


async def test_no_storm_around_the_line(client, db):
    await make_account(client, "user_1", 120)
    await set_threshold(client, "user_1", 100)

    await debit(client, "user_1", 30)  # 90: low
    await grant(client, "user_1", 5)  # 95: still below, no recovery
    await debit(client, "user_1", 10)  # 85: low already fired
    await grant(client, "user_1", 15)  # 100: recovered
    await debit(client, "user_1", 1)  # 99: low again

    assert [e["type"] for e in await _balance_events(client)] == [
        "balance.low",
        "balance.recovered",
        "balance.low",
    ]
    await assert_invariants(db, "user_1")


async def test_a_hold_that_sets_everything_aside_depletes_available(client, db):
    await make_account(client, "user_1", 50)

    assert (await reserve(client, "user_1", 50)).status_code == 201

    alerts = await _balance_events(client)
    assert [(e["type"], e["data"]["available"]) for e in alerts] == [("balance.depleted", 0)]
    await assert_invariants(db, "user_1")


async def test_without_threshold_depleted_and_recovered_still_fire(client, db):
    await make_account(client, "user_1", 10)
    await debit(client, "user_1", 10)
    await grant(client, "user_1", 3)

    alerts = await _balance_events(client)
    assert [e["type"] for e in alerts] == ["balance.depleted", "balance.recovered"]
    assert alerts[1]["data"]["threshold"] is None
    await assert_invariants(db, "user_1")


async def test_negative_adjustment_below_zero_is_depleted(client, db):
    await make_account(client, "user_1", 10)
    await set_threshold(client, "user_1", 5)

    assert (await adjust(client, "user_1", -30)).status_code == 201

    alerts = await _balance_events(client)
    assert [(e["type"], e["data"]["available"]) for e in alerts] == [
        ("balance.low", -20),
        ("balance.depleted", -20),
    ]
    await assert_invariants(db, "user_1")


async def test_threshold_comes_from_the_plan_then_the_default(app_with, db):
    catalog = example_catalog()
    catalog["plans"]["starter"]["low_balance_threshold"] = 200
    _, client = await app_with(catalog, low_balance_threshold=25)
    await make_account(client, "user_1", 100)

    default = (await client.get("/v1/accounts/user_1/alerts", headers=auth("reader"))).json()
    await db["accounts"].update_one({"_id": "user_1"}, {"$set": {"plan": "starter"}})
    by_plan = (await client.get("/v1/accounts/user_1/alerts", headers=auth("reader"))).json()
    off = (await set_threshold(client, "user_1", None)).json()

    assert (default["low_balance_threshold"], default["source"]) == (25, "default")
    assert (by_plan["low_balance_threshold"], by_plan["source"]) == (200, "plan")
    assert (off["low_balance_threshold"], off["source"]) == (None, "off")
    await debit(client, "user_1", 90)  # 10 left, below every threshold, but the alert is off
    assert await types_of(client, "user_1", type="balance.low") == []
    await assert_invariants(db, "user_1")


async def test_default_threshold_fires_low(app_with, db):
    _, client = await app_with(low_balance_threshold=50)
    await make_account(client, "user_1", 100)

    await debit(client, "user_1", 60)

    assert await types_of(client, "user_1", type="balance.low") == ["balance.low"]
    await assert_invariants(db, "user_1")


async def test_alerts_refuse_bad_input_and_write_nothing(client, db):
    await make_account(client, "user_1", 100)
    before = await snapshot(db)
    streams = await db[EVENT_STREAMS].find({}).to_list(None)
    url = "/v1/accounts/user_1/alerts"

    for body in (
        {},
        {"low_balance_threshold": 0},
        {"low_balance_threshold": -5},
        {"low_balance_threshold": "100"},
        {"low_balance_threshold": 1.5},
        {"low_balance_threshold": 10, "extra": 1},
        [1],
    ):
        assert_problem(
            await client.put(url, json=body, headers=auth("granter")), 422, "validation_error"
        )
    assert_problem(
        await client.put(
            url, content=b"{", headers={**auth("granter"), "content-type": "application/json"}
        ),
        422,
        "validation_error",
    )
    assert_problem(
        await client.put(url, json={"low_balance_threshold": 5}, headers=auth("reader")),
        403,
        "forbidden",
    )
    assert_problem(await client.put(url, json={"low_balance_threshold": 5}), 401, "unauthenticated")
    assert_problem(await set_threshold(client, "nobody", 5), 404, "account_not_found")

    assert await snapshot(db) == before
    assert await db[EVENT_STREAMS].find({}).to_list(None) == streams


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("event_retention_days", 29),
        ("expiry_notice_days", 0),
        ("parked_alert_minutes", 0),
        ("low_balance_threshold", 0),
        ("outgoing_webhooks_allow_private", "maybe"),
    ],
)
def test_bad_event_settings_stop_the_start_naming_the_variable(setting, value):
    with pytest.raises(SettingsError, match=setting.upper()):
        load_settings(_env_file=None, **{setting: value})
