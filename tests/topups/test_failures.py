"""What a person expects when buying goes wrong: a decline or 3-D Secure fails the top-up with
Stripe's reason (topup.failed); three in a row turn auto top-up off (auto_topup.disabled); the
monthly cap stops buying until next month (auto_topup.cap_reached); Stripe unreachable is tried
again later under the same idempotency keys, never charging twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.storage.database import TOPUPS
from tests.events.helpers import events_of, types_of
from tests.factories import account, debit, grant
from tests.support.settings import auth
from tests.topups.helpers import enable, linked_account, run_job, topups


async def cross(client, account_id: str = "user_1") -> None:
    """Bring `available` to 120, then below the threshold of 100."""
    level = (await account(client, account_id))["available"]
    if level < 120:
        await grant(client, account_id, 120 - level)
    elif level > 120:
        assert (await debit(client, account_id, level - 120)).status_code == 201
    assert (await debit(client, account_id, 30)).status_code == 201


async def setup(client, clock, **settings) -> None:
    await linked_account(client, clock)
    await grant(client, "user_1", 120)
    await enable(client, "user_1", threshold=100, **settings)


def metric(text: str, outcome: str) -> int:
    line = f'credit_ledger_topups_total{{outcome="{outcome}"}}'
    found = [ln for ln in text.splitlines() if ln.startswith(line)]
    return int(found[0].split()[-1]) if found else 0


async def metrics(client) -> str:
    return (await client.get("/metrics", headers=auth())).text


@pytest.mark.parametrize(
    ("how", "code", "decline_code"),
    [
        ("decline", "card_declined", "insufficient_funds"),
        ("authentication_required", "authentication_required", "authentication_required"),
    ],
)
async def test_a_refused_payment_fails_with_stripes_reason(
    app, client, clock, fake_stripe, how, code, decline_code
):
    await setup(client, clock)
    await cross(client)
    fake_stripe.payments = [how]
    assert await run_job(app) == 1
    [topup] = await topups(client, "user_1")
    assert (topup["status"], topup["reason"], topup["decline_code"]) == (
        "failed",
        code,
        decline_code,
    )
    assert topup["failure_message"] and topup["stripe_invoice_id"]
    assert (await account(client, "user_1"))["balance"] == 90  # nothing granted
    [failed] = await events_of(client, "user_1", type="topup.failed")
    assert failed["data"]["topup"]["reason"] == code
    shown = (await client.get("/v1/accounts/user_1/auto-topup", headers=auth("granter"))).json()
    assert (shown["enabled"], shown["consecutive_failures"]) == (True, 1)
    assert metric(await metrics(client), "failed") == 1
    assert fake_stripe.charges == []


async def test_three_failures_in_a_row_disable_it(app, client, clock, db, fake_stripe):
    await setup(client, clock)
    fake_stripe.payments = ["decline", "authentication_required", "decline"]
    for _ in range(3):
        await cross(client)
        assert await run_job(app) == 1
    shown = (await client.get("/v1/accounts/user_1/auto-topup", headers=auth("granter"))).json()
    assert (shown["enabled"], shown["consecutive_failures"]) == (False, 3)
    assert "3 top-ups failed in a row" in shown["disabled_reason"]
    assert await types_of(client, "user_1", type="auto_topup.disabled") == ["auto_topup.disabled"]
    await cross(client)  # off: records nothing
    assert await db[TOPUPS].count_documents({"account_id": "user_1"}) == 3
    # Turned on again by the operator: failures count afresh.
    shown = await enable(client, "user_1", threshold=100)
    assert (shown["enabled"], shown["consecutive_failures"], shown["disabled_reason"]) == (
        True,
        0,
        None,
    )


async def test_a_success_resets_the_failures(app, client, clock, fake_stripe):
    await setup(client, clock)
    fake_stripe.payments = ["decline", "decline", "paid", "decline"]
    for _ in range(4):
        await cross(client)
        assert await run_job(app) == 1
    shown = (await client.get("/v1/accounts/user_1/auto-topup", headers=auth("granter"))).json()
    assert (shown["enabled"], shown["consecutive_failures"]) == (True, 1)


async def test_the_monthly_cap_in_packs_stops_buying_until_next_month(
    app, client, clock, db, fake_stripe
):
    await setup(client, clock, monthly_cap_packs=1)
    await cross(client)
    assert await run_job(app) == 1  # the month's one pack
    await cross(client)
    assert await run_job(app) == 1  # the second: over the cap
    statuses = [(t["status"], t["reason"]) for t in await topups(client, "user_1")]
    assert statuses == [("canceled", "cap_reached"), ("succeeded", None)]
    [capped] = await events_of(client, "user_1", type="auto_topup.cap_reached")
    assert capped["data"]["month"] == "2026-11"
    await cross(client)  # same month: nothing recorded, no second event
    assert await db[TOPUPS].count_documents({"account_id": "user_1"}) == 2
    assert len(await events_of(client, "user_1", type="auto_topup.cap_reached")) == 1
    assert len(fake_stripe.charges) == 1
    clock.set(datetime(2026, 12, 1, 0, 0, tzinfo=UTC))  # a new calendar month (UTC)
    await cross(client)
    assert await run_job(app) == 1
    assert [t["status"] for t in await topups(client, "user_1")][0] == "succeeded"
    assert len(fake_stripe.charges) == 2
    assert metric(await metrics(client), "cap_reached") == 1


async def test_the_monthly_cap_in_money(app, client, clock, fake_stripe):
    await setup(client, clock, monthly_cap_packs=None, monthly_cap_amount=1500)  # 1000 a pack
    await cross(client)
    assert await run_job(app) == 1
    await cross(client)
    assert await run_job(app) == 1
    statuses = [(t["status"], t["reason"]) for t in await topups(client, "user_1")]
    assert statuses == [("canceled", "cap_reached"), ("succeeded", None)]
    assert await types_of(client, "user_1", type="auto_topup.cap_reached") == [
        "auto_topup.cap_reached"
    ]


async def test_stripe_unreachable_is_tried_later_with_the_same_keys(
    app, client, clock, fake_stripe
):
    await setup(client, clock)
    await cross(client)
    fake_stripe.payments = ["timeout"]
    assert await run_job(app) == 1
    [topup] = await topups(client, "user_1")
    assert (topup["status"], topup["attempts"]) == ("processing", 1)
    assert await run_job(app) == 0  # not before its backoff (about 30 s)
    clock.advance(seconds=40)
    assert await run_job(app) == 1
    [topup] = await topups(client, "user_1")
    assert topup["status"] == "succeeded"
    assert fake_stripe.keys_seen[f"topup:{topup['id']}:pay"] == 2
    assert fake_stripe.keys_seen[f"topup:{topup['id']}:invoice"] == 2
    assert len(fake_stripe.charges) == 1 and len(fake_stripe.invoices) == 1
    assert (await account(client, "user_1"))["balance"] == 590
    text = await metrics(client)
    assert (metric(text, "retried"), metric(text, "succeeded")) == (1, 1)


async def test_stripe_unreachable_for_20_hours_fails_it(app, client, clock, fake_stripe):
    await setup(client, clock)
    await cross(client)
    fake_stripe.payments = ["drop"] * 12  # the connection closes: unreachable, at once
    ran = 0
    while (await topups(client, "user_1"))[0]["status"] in ("pending", "processing"):
        ran += await run_job(app)
        assert ran < 12
        clock.advance(hours=4)
    [topup] = await topups(client, "user_1")
    assert (topup["status"], topup["reason"]) == ("failed", "stripe_unreachable")
    assert fake_stripe.charges == []
    assert await types_of(client, "user_1", type="topup.failed") == ["topup.failed"]
    assert clock.now() - datetime(2026, 11, 1, 12, tzinfo=UTC) >= timedelta(hours=20)
