"""A library of subscription lives, each the list of events Stripe sends for it, in order,
in either layout; and a runner that delivers events to a fresh app and reads the outcome.
The property tests deliver them in any order, with duplicates."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
from stripe_fixtures import DAY, Layout, StripeEvents, signed_request
from stripe_fixtures.envelope import event
from stripe_fixtures.invoices import invoice, plan_line, proration_line
from stripe_fixtures.subscriptions import subscription

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.storage.database import connect
from tests.factories import assert_invariants
from tests.support.settings import START, WEBHOOK_SECRET, auth, make_settings
from tests.webhooks.shapes_story import ANNUAL, GROWTH, MONTH, NAMES, STARTER, TEAM_SEAT, UNIT

T0 = int(START.timestamp())
YEAR = 365 * DAY
ACCOUNT, CUSTOMER = "user_1", "cus_1"


class Life:
    """Builds one life's events: ids fixed by the life, times from T0."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.events: list[dict] = []

    def add(self, type: str, obj: dict, at: int) -> None:
        self.events.append(event(self.layout, type, obj, created=at))

    def checkout(self, sub: str, at: int) -> None:
        shape = "endive" if self.layout == "current" else "legacy"
        self.events.append(
            StripeEvents(shape, now=at).checkout_session_completed(
                customer=CUSTOMER, account_id=ACCOUNT, subscription=sub
            )
        )

    def snapshot(self, type: str, sub: str, items, start: int, end: int, at: int, **kw) -> None:
        obj = subscription(
            self.layout,
            subscription_id=sub,
            customer=CUSTOMER,
            items=[(price, UNIT[price], q) for price, q in items],
            start=start,
            end=end,
            **kw,
        )
        self.add(type, obj, at)

    def paid(self, sub: str, lines, reason: str, at: int, *, type: str = "invoice.paid") -> dict:
        obj = invoice(
            self.layout,
            lines=lines,
            customer=CUSTOMER,
            subscription=sub,
            billing_reason=reason,
            created=at,
            paid=type != "invoice.payment_failed",
        )
        self.add(type, obj, at)
        return obj


def plan(price: str, start: int, end: int, sub: str, quantity: int = 1, **kw):
    return plan_line(
        price,
        UNIT[price],
        start=start,
        end=end,
        subscription=sub,
        quantity=quantity,
        name=NAMES[price],
        **kw,
    )


def unused(price: str, at: int, end: int, sub: str, quantity: int = 1):
    amount = -int(UNIT[price] * quantity * (end - at) / MONTH)
    return proration_line(
        price, amount, start=at, end=end, subscription=sub, name=NAMES[price], quantity=quantity
    )


def _subscribe(life: Life, sub: str, price: str, at: int, end: int, quantity: int = 1) -> None:
    life.checkout(sub, at)
    life.snapshot("customer.subscription.created", sub, [(price, quantity)], at, end, at)
    first = life.paid(sub, [plan(price, at, end, sub, quantity)], "subscription_create", at + 5)
    # Stripe sends both for a paid invoice: the same invoice, two event types.
    life.add("invoice.payment_succeeded", first, at + 5)


def renewals(life: Life) -> None:
    _subscribe(life, "sub_1", STARTER, T0, T0 + MONTH)
    for n in (1, 2):
        start, end = T0 + n * MONTH, T0 + (n + 1) * MONTH
        life.snapshot("customer.subscription.updated", "sub_1", [(STARTER, 1)], start, end, start)
        life.paid("sub_1", [plan(STARTER, start, end, "sub_1")], "subscription_cycle", start + 5)


def upgrade_then_renewal(life: Life) -> None:
    _subscribe(life, "sub_1", STARTER, T0, T0 + MONTH)
    at, end = T0 + 10 * DAY, T0 + MONTH
    life.snapshot("customer.subscription.updated", "sub_1", [(GROWTH, 1)], T0, end, at)
    lines = [unused(STARTER, at, end, "sub_1"), plan(GROWTH, end, end + MONTH, "sub_1")]
    life.snapshot("customer.subscription.updated", "sub_1", [(GROWTH, 1)], end, end + MONTH, end)
    life.paid("sub_1", lines, "subscription_cycle", end + 5)


def ping_pong(life: Life) -> None:
    _subscribe(life, "sub_1", TEAM_SEAT, T0, T0 + MONTH, quantity=2)
    for n, seats in enumerate((1, 4, 2, 4, 1, 3), start=1):
        at = T0 + n * 3 * DAY
        life.snapshot(
            "customer.subscription.updated", "sub_1", [(TEAM_SEAT, seats)], T0, T0 + MONTH, at
        )


def monthly_to_yearly(life: Life) -> None:
    _subscribe(life, "sub_1", STARTER, T0, T0 + MONTH)
    at = T0 + 12 * DAY
    kw = {"interval": "year"}
    life.snapshot("customer.subscription.updated", "sub_1", [(ANNUAL, 1)], at, at + YEAR, at, **kw)
    lines = [unused(STARTER, at, T0 + MONTH, "sub_1"), plan(ANNUAL, at, at + YEAR, "sub_1")]
    life.paid("sub_1", lines, "subscription_update", at + 5)


def two_subscriptions_one_canceled(life: Life) -> None:
    _subscribe(life, "sub_1", STARTER, T0, T0 + MONTH)
    _subscribe(life, "sub_2", GROWTH, T0 + 60, T0 + 60 + MONTH)
    at = T0 + 2 * DAY
    life.snapshot(
        "customer.subscription.deleted",
        "sub_2",
        [(GROWTH, 1)],
        T0 + 60,
        T0 + 60 + MONTH,
        at,
        status="canceled",
    )


def failure_then_recovery(life: Life) -> None:
    _subscribe(life, "sub_1", STARTER, T0, T0 + MONTH)
    start, end = T0 + MONTH, T0 + 2 * MONTH
    lines = [plan(STARTER, start, end, "sub_1")]
    life.paid("sub_1", lines, "subscription_cycle", start + 5, type="invoice.payment_failed")
    life.snapshot(
        "customer.subscription.updated",
        "sub_1",
        [(STARTER, 1)],
        start,
        end,
        start + 6,
        status="past_due",
    )
    life.paid("sub_1", lines, "subscription_cycle", start + 2 * DAY)
    life.snapshot(
        "customer.subscription.updated", "sub_1", [(STARTER, 1)], start, end, start + 2 * DAY + 1
    )


def trial_ended_early(life: Life) -> None:
    trial_end = T0 + 14 * DAY
    life.checkout("sub_1", T0)
    life.snapshot(
        "customer.subscription.created",
        "sub_1",
        [(STARTER, 1)],
        T0,
        trial_end,
        T0,
        status="trialing",
        trial_end=trial_end,
    )
    trial = [plan(STARTER, T0, trial_end, "sub_1", trial=True)]
    life.paid("sub_1", trial, "subscription_create", T0 + 5)
    at = T0 + 3 * DAY
    life.snapshot("customer.subscription.updated", "sub_1", [(STARTER, 1)], at, at + MONTH, at)
    life.paid("sub_1", [plan(STARTER, at, at + MONTH, "sub_1")], "subscription_update", at + 5)


LIVES: dict[str, Callable[[Life], None]] = {
    f.__name__: f
    for f in (
        renewals,
        upgrade_then_renewal,
        ping_pong,
        monthly_to_yearly,
        two_subscriptions_one_canceled,
        failure_then_recovery,
        trial_ended_early,
    )
}


def life_events(name: str, layout: Layout) -> list[dict]:
    life = Life(layout)
    LIVES[name](life)
    return life.events


def last_time(events: list[dict]) -> int:
    return max(e["created"] for e in events)


class Runner:
    """A fresh app on a fresh database, its clock at `now`; each example gets its own."""

    def __init__(self, plans_file, now: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.clock = FrozenClock(START + timedelta(seconds=now - T0))
        self.uri = os.environ.get("MONGODB_TEST_URI")
        self.name = f"test_{uuid.uuid4().hex[:12]}"
        self.db = connect(self.uri, self.name)
        settings = make_settings(plans_file=plans_file)
        self.app = create_app(settings, db=self.db, clock=self.clock, sweeper=False)
        self.lifespan = self.app.router.lifespan_context(self.app)
        self.run(self.lifespan.__aenter__())
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test"
        )

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def deliver(self, event: dict) -> str:
        body, headers = signed_request(event, WEBHOOK_SECRET)
        r = self.run(self.client.post("/webhooks/stripe", content=body, headers=headers))
        assert r.status_code == 200, r.text
        return r.json()["status"]

    def outcome(self) -> dict:
        """Balance, live grants and standing of the account, and the invariants checked."""
        self.run(assert_invariants(self.db, ACCOUNT))
        acc = self.run(self.client.get(f"/v1/accounts/{ACCOUNT}", headers=auth("reader")))
        assert acc.status_code == 200, acc.text
        grants = self.run(self.client.get(f"/v1/accounts/{ACCOUNT}/grants", headers=auth("reader")))
        assert grants.status_code == 200, grants.text
        # Credits per kind and expiry: how a period's credits split into top-up grants may
        # follow the order the raises came in; what they are worth and when they end may not.
        live: dict[tuple[str, str], list[int]] = {}
        for g in grants.json()["data"]:
            group = live.setdefault((g["kind"], g["expires_at"]), [0, 0])
            group[0] += g["amount"]
            group[1] += g["remaining"]
        body = acc.json()
        return {
            "balance": body["balance"],
            "grants": sorted((*key, *sums) for key, sums in live.items()),
            "status": body["subscription_status"],
            "plan": body["plan"],
        }

    def close(self) -> None:
        self.run(self.client.aclose())
        self.run(self.lifespan.__aexit__(None, None, None))
        if self.uri:
            self.run(self.db.client.drop_database(self.name))
        self.run(self.db.close())
        self.loop.close()
