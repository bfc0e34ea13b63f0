"""Console pages over HTTP: what each shows, and what a key without credits:grant may do."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app.storage.database import ACCOUNTS, STRIPE_EVENTS
from tests.console.helpers import account_form, hidden, sign_in
from tests.factories import account, debit, make_account
from tests.support.settings import auth
from tests.webhooks.helpers import send_ok, subscribe


async def test_an_unknown_account_is_a_404_page(client):
    await sign_in(client)
    response = await client.get("/console/accounts/nobody")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "no account" in response.text


async def test_a_key_without_credits_grant_reads_but_cannot_grant(client):
    await make_account(client, "user_1", 10)
    await sign_in(client, "events")
    page = await client.get("/console/accounts/user_1")
    assert page.status_code == 200 and "disabled" in page.text
    form = await account_form(client, "user_1", "grant-form")
    refused = await client.post(
        "/console/accounts/user_1/grants",
        data={**form, "amount": "5", "kind": "bonus", "reason": "x"},
    )
    assert refused.status_code == 403
    assert (await account(client, "user_1"))["balance"] == 10


async def test_the_account_page_pages_its_timeline(client):
    await make_account(client, "user_1", 100)
    for _ in range(30):
        assert (await debit(client, "user_1", 1)).status_code == 201
    await sign_in(client)
    first = await client.get("/console/accounts/user_1")
    assert first.text.count('class="kind-') == 25
    older = hidden(first.text.replace("?after=", 'name="after" value="'), "after")
    second = await client.get("/console/accounts/user_1", params={"after": older})
    assert 0 < second.text.count('class="kind-') <= 25
    assert "balance 70" in first.text  # the newest debit


async def test_failed_events_come_first_with_their_error_and_replay(client, events):
    await sign_in(client)
    await subscribe(client, events, account="user_2", customer="cus_2", subscription="sub_2")
    unknown = events.invoice_event(
        "invoice.paid",
        customer="cus_2",
        subscription="sub_2",
        price="price_unknown",
        billing_reason="subscription_cycle",
        period_start=events.now,
        period_end=events.now + 86400,
    )
    assert await send_ok(client, unknown) == "failed"
    page = await client.get("/console/stripe-events")
    attention = page.text[page.text.index('id="attention"') : page.text.index('id="log"')]
    assert unknown["id"] in attention and "price_unknown" in attention
    assert f"/console/stripe-events/{unknown['id']}/replay" in attention
    filtered = await client.get(
        "/console/stripe-events", params={"status": "processed", "account_id": "user_2"}
    )
    log = filtered.text[filtered.text.index('id="log"') :]
    assert log.count("<code>evt_") == 3
    replay = await client.post(
        f"/console/stripe-events/{unknown['id']}/replay",
        data={"csrf_token": hidden(page.text, "csrf_token")},
    )
    assert replay.status_code == 303 and "error=" in replay.headers["location"]  # still unknown


async def test_search_and_filters_on_the_accounts_page(client):
    await make_account(client, "team-a", 10)
    await make_account(client, "team-b", 10)
    await make_account(client, "solo", 10)
    await sign_in(client)
    page = await client.get("/console/accounts", params={"q": "team"})
    assert "team-a" in page.text and "team-b" in page.text and "solo" not in page.text
    low = await client.get("/console/accounts", params={"low_balance": "true"})
    assert "No account matches" in low.text


async def test_verify_runs_the_invariant_check_and_shows_the_report(client):
    await make_account(client, "user_1", 10)
    await sign_in(client)
    assert 'id="verdict"' not in (await client.get("/console/verify")).text  # runs on request
    page = await client.get("/console/verify", params={"run": "1"})
    assert "No problem in 1 account(s)" in page.text
    unknown = await client.get("/console/verify", params={"run": "1", "account_id": "nobody"})
    assert "not found" in unknown.text and 'id="verdict"' not in unknown.text


@pytest.mark.ledger_broken
async def test_verify_lists_a_broken_invariant(client, db):
    await make_account(client, "user_1", 10)
    await db[ACCOUNTS].update_one({"_id": "user_1"}, {"$inc": {"balance": 5}})
    await sign_in(client)
    page = await client.get("/console/verify", params={"run": "1", "account_id": "user_1"})
    problems = page.text[page.text.index('id="problems"') :]
    assert "user_1" in problems and 'class="error"' in page.text


async def test_the_account_page_shows_its_failed_and_parked_stripe_events(client, db, events):
    await make_account(client, "user_5", 10)
    linking = events.customer_event(customer="cus_5", metadata={"account_id": "user_5"})
    assert await send_ok(client, linking) == "processed"
    unknown = events.subscription_event(
        "customer.subscription.created", customer="cus_5", price="price_not_in_catalog"
    )
    assert await send_ok(client, unknown) == "failed"
    # A parked event the log links to the account (its customer was linked after it parked
    # and its drain did not run yet): stored as the processor leaves it.
    await db[STRIPE_EVENTS].insert_one(
        {
            "_id": "evt_parked_1",
            "type": "charge.dispute.created",
            "status": "parked",
            "account_id": "user_5",
            "customer_id": "cus_5",
            "error": "waiting for the payment's invoice",
            "attempts": 1,
            "received_at": clock_now(events),
            "seq": "ffffffffffffffffffffffff",
            "payload": "{}",
        }
    )
    await make_account(client, "user_6", 10)
    await sign_in(client)

    page = await client.get("/console/accounts/user_5")

    attention = page.text[page.text.index('id="account-attention"') :]
    attention = attention[: attention.index("</table>")]
    assert unknown["id"] in attention and "price_not_in_catalog" in attention
    assert "evt_parked_1" in attention and "parked" in attention
    assert f"/console/stripe-events/{unknown['id']}/replay" in attention
    assert 'id="account-attention"' not in (await client.get("/console/accounts/user_6")).text


def clock_now(events) -> datetime:
    return datetime.fromtimestamp(events.now, UTC)


async def test_the_usage_chart_prints_its_scale_dates_and_figures(client):
    await make_account(client, "user_1", 100)
    assert (await debit(client, "user_1", 3)).status_code == 201
    assert (await debit(client, "user_1", 4)).status_code == 201
    await sign_in(client)

    page = await client.get("/console/accounts/user_1")

    chart = page.text[page.text.index('id="usage-chart"') : page.text.index("</svg>")]
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", chart)
    # The scale from 0 to the first even step above the day's 7 credits, its unit, the
    # dates a week apart, and the day's figure above its bar.
    assert texts[:6] == ["0", "2", "4", "6", "8", "credits per day"]
    assert texts[6:7] == ["7"]
    assert texts[7:] == ["Oct 2", "Oct 9", "Oct 16", "Oct 23", "Oct 30", "day (UTC)"]
    assert chart.count('class="bar"') == 31


async def test_the_account_page_says_what_each_meter_used(client):
    await make_account(client, "user_1", 100)
    for meter, quantity in (
        ("image.1024px", 2),
        ("image.1024px", 1),
        ("llm.gpt-x.input_tokens", 1500),
    ):
        r = await client.post(
            "/v1/accounts/user_1/debits",
            json={"meter": meter, "quantity": quantity},
            headers={**auth("worker"), "Idempotency-Key": f"{meter}-{quantity}"},
        )
        assert r.status_code == 201, r.text
    await debit(client, "user_1", 4)  # by amount: not a meter's
    await sign_in(client)

    page = await client.get("/console/accounts/user_1")

    line = re.search(r'<p id="usage-by-meter">([^<]*)</p>', page.text)
    assert line is not None
    assert line.group(1) == (
        "By meter: image.1024px 9 credits (3 units), llm.gpt-x.input_tokens 2 credits (1500 units)."
    )
