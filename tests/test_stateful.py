"""A Hypothesis state machine: random sequences of grants, debits, holds, captures, releases,
adjustments, expiries (by moving the clock), idempotent retries and Stripe pack, refund and
dispute events, over HTTP on a few accounts, with every invariant checked after every step.

Sizes: STATEFUL_EXAMPLES (default 20) sequences of up to STATEFUL_STEPS (default 40) steps;
raise them locally to search longer."""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from datetime import timedelta

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from stripe_fixtures import StripeEvents, signed_request

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.storage.database import ACCOUNTS, connect
from tests.factories import assert_invariants, snapshot
from tests.support.settings import START, auth, make_settings
from tests.webhooks.helpers import pack_checkout

pytestmark = pytest.mark.slow  # a Hypothesis state machine

ACCOUNT_IDS = ("acct_a", "acct_b", "acct_c")
PACKS = {"boost_500": 500, "boost_2000": 2000}
EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "20"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "40"))
# A write's answer may be any of these; anything else (a 500 above all) fails the run.
DEBIT_ANSWERS = {201, 402, 403, 404}
HOLD_ANSWERS = {201, 402, 403, 404, 409}

accounts = st.sampled_from(ACCOUNT_IDS)
credits = st.integers(1, 400)


class LedgerMachine(RuleBasedStateMachine):
    holds = Bundle("holds")
    packs = Bundle("packs")
    steps = 0  # over every example of the run, for the summary

    def __init__(self) -> None:
        super().__init__()
        # The app is async, the machine is not: each example has its own event loop.
        self.loop = asyncio.new_event_loop()
        self.clock = FrozenClock(START)
        self.stripe = StripeEvents("endive", now=int(START.timestamp()))
        self.uri = os.environ.get("MONGODB_TEST_URI")
        self.name = f"test_{uuid.uuid4().hex[:12]}"
        self.db = connect(self.uri, self.name)
        self.app = create_app(make_settings(), db=self.db, clock=self.clock, sweeper=False)
        self.lifespan = self.app.router.lifespan_context(self.app)
        self.run(self.lifespan.__aenter__())
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test"
        )
        self.keys = itertools.count()
        self.answered: list[tuple[str, dict, str, httpx.Response]] = []  # writes, for retries
        self.delivered: list[dict] = []  # Stripe events, for redeliveries

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.client.aclose())
        self.run(self.lifespan.__aexit__(None, None, None))
        if self.uri:
            self.run(self.db.client.drop_database(self.name))
        self.run(self.db.close())
        self.loop.close()

    # ------------------------------------------------------------ HTTP

    def post(
        self, path: str, body: dict | None, *, key: str | None = None, who: str = "admin"
    ) -> httpx.Response:
        key = key or f"k{next(self.keys)}"
        r = self.run(
            self.client.post(path, json=body, headers={**auth(who), "Idempotency-Key": key})
        )
        assert r.status_code < 500, r.text
        if r.status_code < 300:
            self.answered.append((path, body, key, r))
        return r

    def deliver(self, event: dict) -> str:
        body, headers = signed_request(event, "whsec_test_secret")
        r = self.run(self.client.post("/webhooks/stripe", content=body, headers=headers))
        assert r.status_code == 200, r.text
        self.delivered.append(event)
        return r.json()["status"]

    def available(self, account: str) -> int | None:
        r = self.run(self.client.get(f"/v1/accounts/{account}", headers=auth("reader")))
        assert r.status_code in (200, 404), r.text
        return r.json()["available"] if r.status_code == 200 else None

    # ------------------------------------------------------------ the API

    @rule(account=accounts, amount=credits, days=st.none() | st.integers(1, 10))
    def grant(self, account, amount, days):
        body = {"amount": amount, "kind": "bonus", "description": "state machine"}
        if days is not None:
            body["expires_at"] = (self.clock.now() + timedelta(days=days)).isoformat()
        r = self.post(f"/v1/accounts/{account}/grants", body)
        assert r.status_code == 201, r.text

    @rule(account=accounts, amount=credits)
    def debit(self, account, amount):
        available = self.available(account)
        r = self.post(f"/v1/accounts/{account}/debits", {"amount": amount})
        assert r.status_code in DEBIT_ANSWERS, r.text
        if r.status_code == 201:
            assert available is not None and available >= amount
            assert r.json()["account"]["available"] == available - amount
        if r.status_code == 402:
            assert available is not None and available < amount

    @rule(target=holds, account=accounts, amount=credits, ttl=st.integers(1, 7200))
    def hold(self, account, amount, ttl):
        available = self.available(account)
        r = self.post(
            f"/v1/accounts/{account}/reservations", {"amount": amount, "ttl_seconds": ttl}
        )
        assert r.status_code in HOLD_ANSWERS, r.text
        if r.status_code == 201:
            assert available is not None and available >= amount
            return r.json()["id"]
        return "rsv_none"  # a hold that was refused: capture and release find nothing

    @rule(hold=holds, amount=st.none() | credits)
    def capture(self, hold, amount):
        r = self.post(
            f"/v1/reservations/{hold}/capture", {} if amount is None else {"amount": amount}
        )
        assert r.status_code in (200, 404, 409, 422), r.text

    @rule(hold=holds)
    def release(self, hold):
        r = self.post(f"/v1/reservations/{hold}/release", None)
        assert r.status_code in (200, 404, 409), r.text

    @rule(account=accounts, amount=st.integers(-300, 300).filter(bool))
    def adjust(self, account, amount):
        r = self.post(
            f"/v1/accounts/{account}/adjustments", {"amount": amount, "reason": "state machine"}
        )
        assert r.status_code in (201, 404), r.text

    @rule(seconds=st.integers(1, 5 * 86_400))
    def time_passes(self, seconds):
        self.clock.advance(seconds=seconds)
        self.stripe.now = int(self.clock.now().timestamp())

    @precondition(lambda self: self.answered)
    @rule(data=st.data())
    def retry(self, data):
        path, body, key, first = data.draw(st.sampled_from(self.answered))
        before = self.run(snapshot(self.db))
        r = self.run(
            self.client.post(path, json=body, headers={**auth("admin"), "Idempotency-Key": key})
        )
        assert (r.status_code, r.json()) == (first.status_code, first.json())
        assert r.headers["idempotent-replayed"] == "true"
        assert self.run(snapshot(self.db)) == before

    # ------------------------------------------------------------ Stripe

    @rule(
        target=packs,
        account=accounts,
        pack=st.sampled_from(sorted(PACKS)),
        quantity=st.integers(1, 3),
    )
    def buy_pack(self, account, pack, quantity):
        payment = {
            "pi": self.stripe.new_id("pi"),
            "charge": self.stripe.new_id("ch"),
            "amount": 1000 * quantity,
            "refunded": 0,
            "account": account,
        }
        event = pack_checkout(
            self.stripe,
            account=account,
            customer=f"cus_{account}",
            pack=pack,
            quantity=quantity,
            payment_intent=payment["pi"],
            amount_total=payment["amount"],
        )
        assert self.deliver(event) == "processed"
        return payment

    @rule(payment=packs, quarters=st.integers(1, 4))
    def refund(self, payment, quarters):
        payment["refunded"] = min(
            payment["amount"], payment["refunded"] + payment["amount"] * quarters // 4
        )
        event = self.stripe.charge_refunded(
            charge_id=payment["charge"],
            payment_intent=payment["pi"],
            amount=payment["amount"],
            amount_refunded=payment["refunded"],
            customer=f"cus_{payment['account']}",
        )
        assert self.deliver(event) in ("processed", "duplicate")

    @rule(payment=packs, outcome=st.sampled_from(["won", "lost"]))
    def dispute(self, payment, outcome):
        dispute_id = self.stripe.new_id("dp")
        common = dict(
            dispute_id=dispute_id,
            charge_id=payment["charge"],
            payment_intent=payment["pi"],
            amount=payment["amount"],
        )
        assert (
            self.deliver(self.stripe.dispute_event(type="charge.dispute.created", **common))
            == "processed"
        )
        assert self.deliver(
            self.stripe.dispute_event(type="charge.dispute.closed", status=outcome, **common)
        ) in ("processed", "duplicate")

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def redeliver(self, data):
        event = data.draw(st.sampled_from(self.delivered))
        before = self.run(snapshot(self.db))
        assert self.deliver(event) == "duplicate"
        assert self.run(snapshot(self.db)) == before

    # ------------------------------------------------------------ after every step

    @invariant()
    def every_account_balances(self):
        LedgerMachine.steps += 1
        ids = self.run(self.db[ACCOUNTS].distinct("_id"))
        for account in ids:
            self.run(assert_invariants(self.db, account))


def test_random_sequences_keep_every_invariant():
    LedgerMachine.steps = 0
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(
        f"\n[stateful] {EXAMPLES} examples of up to {STEPS} steps: "
        f"{LedgerMachine.steps} invariant checks, one after every step"
    )
