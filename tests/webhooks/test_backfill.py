"""Events Stripe never delivered, listed from its API and applied like deliveries: oldest first,
once by id (what the webhook brought is a duplicate), every page. A real stripe.StripeClient
talks to a fake HTTP client answering GET /v1/events; no network."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe
from stripe_fixtures import DAY, MONTH

from app.cli import parse_since, run_backfill
from app.storage.database import CUSTOMERS, PAYMENTS, STRIPE_EVENTS
from app.stripe_events.backfill import backfill_events, handled_types
from app.stripe_events.handlers import HANDLERS
from tests.factories import assert_invariants, snapshot
from tests.webhooks.helpers import STARTER, get_account, send_ok, state, stored_event

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk_test_backfill_key_never_printed"


class FakeStripeAPI(stripe.HTTPClient):
    """GET /v1/events as Stripe answers it: filtered by `created[gte]` and `types[]`, newest
    first, pages of `limit` with `has_more`, continued by `starting_after`."""

    name = "fake"

    def __init__(
        self, events: list[dict] | None = None, *, status: int = 200, error: dict | None = None
    ) -> None:
        super().__init__()
        self.events: list[dict] = list(events or [])  # in creation order, oldest first
        self.requests: list[dict[str, list[str]]] = []
        self.status = status
        self.error = error

    def add(self, *events: dict) -> None:
        self.events.extend(events)

    def request(self, method, url, headers, post_data=None, **_):
        parts = urlsplit(url)
        assert (method, parts.path) == ("get", "/v1/events")
        assert headers["Authorization"] == f"Bearer {API_KEY}"
        query = parse_qs(parts.query)
        self.requests.append(query)
        if self.error is not None:
            return json.dumps({"error": self.error}), self.status, {"Request-Id": "req_fake"}
        gte = int(query["created[gte]"][0])
        types = [v for k, vs in query.items() if k.startswith("types[") for v in vs]
        listed = [
            e
            for e in reversed(self.events)
            if e["created"] >= gte and (not types or e["type"] in types)
        ]
        if "starting_after" in query:
            ids = [e["id"] for e in listed]
            listed = listed[ids.index(query["starting_after"][0]) + 1 :]
        limit = int(query.get("limit", ["10"])[0])
        body = {
            "object": "list",
            "url": "/v1/events",
            "data": listed[:limit],
            "has_more": len(listed) > limit,
        }
        return json.dumps(body), 200, {"Request-Id": "req_fake"}

    def close(self):
        pass


def stripe_client(api: FakeStripeAPI) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, http_client=api)


def story(events, *, account: str, customer: str, subscription: str) -> list[dict]:
    """checkout, subscription created, first invoice paid, one second apart (oldest first).
    Neither the subscription nor the invoice names its account: they find it through the
    customer the checkout links, so applied newest first they would park."""
    start = events.now
    built = [
        events.checkout_session_completed(
            customer=customer, account_id=account, subscription=subscription
        )
    ]
    events.advance(1)
    built.append(
        events.subscription_event(
            "created",
            subscription_id=subscription,
            customer=customer,
            price=STARTER,
            period_start=start,
            period_end=start + MONTH,
        )
    )
    events.advance(1)
    built.append(
        events.invoice_event(
            "invoice.paid",
            customer=customer,
            subscription=subscription,
            price=STARTER,
            billing_reason="subscription_create",
            period_start=start,
            period_end=start + MONTH,
        )
    )
    events.now = start
    return built


def three_days_ago(clock) -> datetime:
    return clock.now() - timedelta(days=3)


async def log_order(db) -> list[str]:
    """Event ids in the order they were stored."""
    docs = await db[STRIPE_EVENTS].find({}, {"_id": 1}).sort("seq", 1).to_list(None)
    return [d["_id"] for d in docs]


async def everything(db) -> dict:
    out = await snapshot(db)
    for name in (STRIPE_EVENTS, CUSTOMERS, PAYMENTS):
        out[name] = await db[name].find({}).sort("_id", 1).to_list(None)
    return out


async def test_missed_events_apply_oldest_first_like_webhook_delivery(
    app, client, db, clock, events
):
    for event in story(events, account="user_1", customer="cus_1", subscription="sub_1"):
        await send_ok(client, event)
    missed = story(events, account="user_2", customer="cus_2", subscription="sub_2")
    api = FakeStripeAPI(missed)

    report = await backfill_events(
        app.state.services.webhooks, stripe_client(api), since=three_days_ago(clock)
    )

    assert dict(report.counts) == {"processed": 3}
    assert (report.listed, report.remaining) == (3, 0)
    assert (await get_account(client, "user_2"))["balance"] == 1000
    assert await state(client, "user_2") == await state(client, "user_1")
    # Oldest first: stored in creation order, and each applied at its first attempt (the
    # subscription and the invoice would have parked before the checkout linked the customer).
    assert (await log_order(db))[3:] == [e["id"] for e in missed]
    for event in missed:
        stored = await stored_event(db, event["id"])
        assert (stored["status"], stored["attempts"], stored["account_id"]) == (
            "processed",
            1,
            "user_2",
        )
        assert json.loads(stored["payload"]) == event  # as Stripe sent it
    # One page, asked for as the service needs it.
    [query] = api.requests
    assert query["limit"] == ["100"]
    assert query["created[gte]"] == [str(int(three_days_ago(clock).timestamp()))]
    assert sorted(v for k, vs in query.items() if k.startswith("types[") for v in vs) == sorted(
        HANDLERS
    )
    await assert_invariants(db, "user_1")
    await assert_invariants(db, "user_2")


async def test_events_already_received_are_duplicates_and_change_nothing(
    app, client, db, clock, events
):
    checkout, created, paid = story(
        events, account="user_1", customer="cus_1", subscription="sub_1"
    )
    await send_ok(client, checkout)
    await send_ok(client, created)  # the invoice.paid delivery never came
    api = FakeStripeAPI([checkout, created, paid])

    report = await backfill_events(
        app.state.services.webhooks, stripe_client(api), since=three_days_ago(clock)
    )

    assert dict(report.counts) == {"duplicate": 2, "processed": 1}
    assert (await get_account(client, "user_1"))["balance"] == 1000
    before = await everything(db)

    again = await backfill_events(
        app.state.services.webhooks, stripe_client(api), since=three_days_ago(clock)
    )

    assert dict(again.counts) == {"duplicate": 3}
    assert await everything(db) == before
    await assert_invariants(db, "user_1")


async def test_an_event_stored_but_never_applied_is_applied(app, client, db, clock, events):
    """Answered 500 (a transient failure) and then never retried by Stripe: left `received`;
    the backfill applies it, as Stripe's retry would have."""
    checkout, created, paid = story(
        events, account="user_1", customer="cus_1", subscription="sub_1"
    )
    await send_ok(client, checkout)
    await send_ok(client, created)
    await app.state.services.webhooks.events.record(paid, json.dumps(paid), clock.now())
    api = FakeStripeAPI([checkout, created, paid])

    report = await backfill_events(
        app.state.services.webhooks, stripe_client(api), since=three_days_ago(clock)
    )

    assert dict(report.counts) == {"duplicate": 2, "processed": 1}
    assert (await stored_event(db, paid["id"]))["status"] == "processed"
    assert (await get_account(client, "user_1"))["balance"] == 1000
    await assert_invariants(db, "user_1")


async def test_every_page_is_listed_and_only_handled_types_by_default(
    app, client, db, clock, events
):
    api = FakeStripeAPI()
    for n in range(150):
        events.now = int(clock.now().timestamp()) - 150 + n
        # A handled type; without metadata.account_id a customer event changes nothing.
        api.add(events.customer_event(customer=f"cus_{n}", metadata={}))
        if n % 15 == 0:
            api.add(events.event("product.created", {"id": f"prod_{n}", "object": "product"}))
    customers = [e["id"] for e in api.events if e["type"] == "customer.created"]

    report = await backfill_events(
        app.state.services.webhooks, stripe_client(api), since=three_days_ago(clock)
    )

    assert dict(report.counts) == {"ignored": 150}
    assert report.listed == 150
    first, second = api.requests
    assert "starting_after" not in first
    # Newest first: the second page starts after the 100th newest.
    assert second["starting_after"] == [customers[-100]]
    assert await log_order(db) == customers  # oldest first across pages
    assert await db[STRIPE_EVENTS].count_documents({"type": "product.created"}) == 0
    assert await db[STRIPE_EVENTS].count_documents({"status": "ignored"}) == 150


async def test_types_given_replace_the_default(app, client, db, clock, events):
    api = FakeStripeAPI(
        [
            events.customer_event(customer="cus_1"),
            events.event("product.created", {"id": "prod_1", "object": "product"}),
        ]
    )

    report = await backfill_events(
        app.state.services.webhooks,
        stripe_client(api),
        since=three_days_ago(clock),
        types=["product.created"],
    )

    assert dict(report.counts) == {"ignored": 1}  # stored, and not handled
    assert api.requests[0]["types[0]"] == ["product.created"]
    assert [d["type"] for d in await db[STRIPE_EVENTS].find({}).to_list(None)] == [
        "product.created"
    ]


async def test_only_events_since_the_start_of_the_window(app, client, db, clock, events):
    now = int(clock.now().timestamp())
    old = events.customer_event(customer="cus_old", created=now - 4 * DAY)
    recent = events.customer_event(customer="cus_new", created=now - 2 * DAY)
    api = FakeStripeAPI([old, recent])

    report = await backfill_events(
        app.state.services.webhooks, stripe_client(api), since=three_days_ago(clock)
    )

    assert report.listed == 1
    assert await log_order(db) == [recent["id"]]


async def test_limit_applies_the_oldest_and_says_where_to_continue(app, client, db, clock, events):
    now = int(clock.now().timestamp())
    batch = [events.customer_event(customer=f"cus_{n}", created=now - 100 + n) for n in range(5)]
    api = FakeStripeAPI(batch)

    report = await backfill_events(
        app.state.services.webhooks, stripe_client(api), since=three_days_ago(clock), limit=2
    )

    assert dict(report.counts) == {"ignored": 2}
    assert (report.listed, report.remaining) == (5, 3)
    assert report.next_since == datetime.fromtimestamp(batch[2]["created"], UTC)
    assert await log_order(db) == [e["id"] for e in batch[:2]]

    rest = await backfill_events(
        app.state.services.webhooks, stripe_client(api), since=report.next_since
    )

    assert dict(rest.counts) == {"ignored": 3}
    assert await log_order(db) == [e["id"] for e in batch]


async def test_run_backfill_prints_one_line_per_status(app, client, db, clock, events):
    missed = story(events, account="user_1", customer="cus_1", subscription="sub_1")
    await send_ok(client, missed[0])
    out, err = io.StringIO(), io.StringIO()

    code = await run_backfill(
        app.state.services.webhooks,
        stripe_client(FakeStripeAPI(missed)),
        since=three_days_ago(clock),
        types=None,
        limit=None,
        api_key=API_KEY,
        out=out,
        err=err,
    )

    assert code == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert "3 listed, 3 applied" in lines[0]
    counts = dict(line.split() for line in lines[1:6])
    assert counts == {
        "processed": "2",
        "duplicate": "1",
        "ignored": "0",
        "parked": "0",
        "failed": "0",
    }
    assert API_KEY not in out.getvalue() + err.getvalue()
    await assert_invariants(db, "user_1")


async def test_a_refused_listing_reports_stripe_error_without_the_key(app, db, clock):
    api = FakeStripeAPI(
        status=401,
        error={"type": "invalid_request_error", "message": f"Invalid API Key provided: {API_KEY}"},
    )
    out, err = io.StringIO(), io.StringIO()

    code = await run_backfill(
        app.state.services.webhooks,
        stripe_client(api),
        since=three_days_ago(clock),
        types=None,
        limit=None,
        api_key=API_KEY,
        out=out,
        err=err,
    )

    assert code == 1
    assert "AuthenticationError" in err.getvalue()
    assert API_KEY not in out.getvalue() + err.getvalue()
    assert await db[STRIPE_EVENTS].count_documents({}) == 0


def test_handled_types_fit_in_one_stripe_filter():
    assert handled_types() == sorted(HANDLERS)
    assert len(handled_types()) <= 20


def test_since_takes_durations_dates_and_times():
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    assert parse_since("3d", now) == now - timedelta(days=3)
    assert parse_since("72h", now) == now - timedelta(hours=72)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("2026-11-20", now) == datetime(2026, 11, 20, tzinfo=UTC)
    assert parse_since("2026-11-20T06:30:00Z", now) == datetime(2026, 11, 20, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize("value", ["yesterday", "3w", "-3d", "2026-12-01"])
def test_since_refuses_what_it_cannot_read_or_the_future(value):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        parse_since(value, datetime(2026, 11, 23, tzinfo=UTC))


def run_backfill_cli(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m app stripe backfill` in an empty directory (no `.env`), with only `env` of
    the service's settings."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MONGODB_URI", "STRIPE_API_KEY", "APP_ENV", "PLANS_FILE")
    }
    base["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "app", "stripe", "backfill", "--since", "3d"],
        cwd=tmp_path,
        env={**base, "APP_ENV": "development", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_cli_refuses_without_a_stripe_api_key(tmp_path):
    result = run_backfill_cli(tmp_path, MONGODB_URI="mongodb://db.invalid:27017/?replicaSet=rs")

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "STRIPE_API_KEY" in line
    assert result.stdout == ""


@pytest.mark.slow
def test_cli_refuses_without_a_database_and_never_prints_the_key(tmp_path):
    result = run_backfill_cli(tmp_path, STRIPE_API_KEY=API_KEY)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "MONGODB_URI" in line and "in-memory" in line
    assert API_KEY not in result.stdout + result.stderr
