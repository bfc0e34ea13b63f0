"""Usage: credits spent per UTC bucket, split by a metadata key, equal to the ledger."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from app.storage.database import LEDGER
from tests.factories import assert_invariants, assert_problem, capture, debit, make_account, reserve
from tests.reads.test_account_list import user_token
from tests.support.settings import auth

FEATURES = ("image", "video", None)


async def usage(client, account_id: str, **params):
    return await client.get(
        f"/v1/accounts/{account_id}/usage", params=params, headers=auth("reader")
    )


async def spend_for_40_days(client, clock, account_id: str) -> None:
    """Each day: debits with and without `feature`, one just before and one at UTC midnight,
    and a hold captured for less than it held."""
    clock.set(datetime(2026, 9, 1, 0, 0, tzinfo=UTC))
    for day in range(40):
        clock.set(datetime(2026, 9, 1, 9, tzinfo=UTC) + timedelta(days=day))
        feature = FEATURES[day % 3]
        meta = {"metadata": {"feature": feature}} if feature else {}
        assert (await debit(client, account_id, 1 + day % 5, **meta)).status_code == 201
        assert (
            await debit(client, account_id, 2, metadata={"feature": "image"})
        ).status_code == 201
        held = await reserve(client, account_id, 10)
        assert held.status_code == 201
        assert (await capture(client, held.json()["id"], 3 + day % 4)).status_code == 200
        # The last millisecond of the UTC day and the first of the next.
        clock.set(datetime(2026, 9, 2, tzinfo=UTC) + timedelta(days=day, milliseconds=-1))
        assert (
            await debit(client, account_id, 7, metadata={"feature": "video"})
        ).status_code == 201
        clock.advance(milliseconds=1)
        assert (await debit(client, account_id, 1, metadata={"feature": 3})).status_code == 201


@pytest.mark.slow
async def test_usage_by_day_and_feature_matches_the_ledger_over_40_days(client, clock, db):
    clock.set(datetime(2026, 8, 1, tzinfo=UTC))
    await make_account(client, "acct_u", 100_000)
    await spend_for_40_days(client, clock, "acct_u")
    # A grant is not spending.
    await make_account(client, "acct_u", 5)

    response = await usage(
        client,
        "acct_u",
        **{
            "from": "2026-09-01T00:00:00Z",
            "to": "2026-10-12T00:00:00Z",
            "group_by": "day",
            "metadata_key": "feature",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()

    # What the ledger says, bucketed here by UTC day.
    expected: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for entry in (
        await db[LEDGER]
        .find({"account_id": "acct_u", "type": {"$in": ["debit", "capture"]}})
        .to_list(None)
    ):
        day = entry["created_at"].astimezone(UTC).date().isoformat()
        value = entry["metadata"].get("feature")
        expected[day]["credits"] -= entry["amount"]
        expected[day]["operations"] += 1
        expected[day][repr(value)] -= entry["amount"]
    assert len(body["data"]) == 41
    for bucket in body["data"]:
        day = bucket["start"][:10]
        assert bucket["end"] == (
            datetime.fromisoformat(bucket["start"]) + timedelta(days=1)
        ).isoformat().replace("+00:00", "Z")
        assert bucket["credits"] == expected[day]["credits"], day
        assert bucket["operations"] == expected[day]["operations"], day
        split = {repr(g["value"]): g["credits"] for g in bucket["groups"]}
        assert split == {
            k: v for k, v in expected[day].items() if k not in ("credits", "operations")
        }, day
        assert sum(g["operations"] for g in bucket["groups"]) == bucket["operations"]
    spent = sum(v["credits"] for v in expected.values())
    assert body["totals"]["credits"] == spent
    assert sum(g["credits"] for g in body["totals"]["groups"]) == spent
    # The first debit of each day at 00:00:00.000 counts in that day, not the one before.
    first = body["data"][1]
    assert first["start"] == "2026-09-02T00:00:00Z"
    assert {"value": 3, "credits": 1, "operations": 1} in first["groups"]
    # 3 (an int) and "3" would be two values; None is the entries without the key.
    assert None in [g["value"] for g in body["totals"]["groups"]]
    await assert_invariants(db, "acct_u")


@pytest.mark.slow
async def test_weeks_and_months_are_utc_calendar_buckets_with_the_same_total(client, clock):
    clock.set(datetime(2026, 8, 1, tzinfo=UTC))
    await make_account(client, "acct_w", 100_000)
    await spend_for_40_days(client, clock, "acct_w")
    params = {"from": "2026-09-01T00:00:00Z", "to": "2026-10-12T00:00:00Z"}
    by_day = (await usage(client, "acct_w", **params)).json()
    by_week = (await usage(client, "acct_w", group_by="week", **params)).json()
    by_month = (await usage(client, "acct_w", group_by="month", **params)).json()
    assert by_day["totals"]["credits"] == by_week["totals"]["credits"]
    # from is rounded down to Monday 2026-08-31 and up to the end of the week of 2026-10-11.
    assert by_week["from"] == "2026-08-31T00:00:00Z"
    assert by_week["to"] == "2026-10-12T00:00:00Z"
    assert all(datetime.fromisoformat(b["start"]).weekday() == 0 for b in by_week["data"])
    assert [b["start"] for b in by_month["data"]] == [
        "2026-09-01T00:00:00Z",
        "2026-10-01T00:00:00Z",
    ]
    assert by_month["data"][1]["end"] == "2026-11-01T00:00:00Z"
    assert by_month["totals"]["credits"] == by_day["totals"]["credits"]
    assert sum(b["credits"] for b in by_month["data"]) == by_day["totals"]["credits"]
    assert by_day["totals"]["groups"] is None  # no split without metadata_key


async def test_usage_defaults_to_the_last_30_days_and_zero_fills(client, clock):
    await make_account(client, "acct_z", 100)
    assert (await debit(client, "acct_z", 4)).status_code == 201
    body = (await usage(client, "acct_z")).json()
    assert len(body["data"]) == 31  # 30 days back, rounded down to the day, up to today
    assert body["totals"] == {"credits": 4, "operations": 1, "groups": None}
    assert body["data"][-1]["credits"] == 4
    assert all(b["credits"] == 0 for b in body["data"][:-1])


async def test_usage_refuses_bad_ranges_and_other_accounts(client, clock):
    await make_account(client, "acct_b", 100)
    for params in (
        {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
        {"from": "2000-01-01T00:00:00Z", "group_by": "day"},
        {"group_by": "year"},
        {"metadata_key": "a.b"},
        {"from": "yesterday"},
    ):
        assert_problem(await usage(client, "acct_b", **params), 422, "validation_error")
    assert_problem(await usage(client, "nobody"), 404, "account_not_found")


async def test_a_user_reads_its_own_usage_only(client):
    await make_account(client, "user_1", 100)
    await make_account(client, "user_2", 100)
    url = "/v1/accounts/{}/usage"
    assert (await client.get(url.format("user_1"), headers=user_token("user_1"))).status_code == 200
    other = await client.get(url.format("user_2"), headers=user_token("user_1"))
    assert_problem(other, 404, "account_not_found")
