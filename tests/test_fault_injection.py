"""The ledger and webhook stories under the errors a replica set raises inside transactions:
write conflicts at every step of every unit of work (re-run as `with_transaction` does), commits
whose result is unknown (done or not), and duplicate keys that abort a transaction. The end
state must be the one a run without faults reaches."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import httpx
import pytest
from stripe_fixtures import MONTH, StripeEvents

import tests.factories as factories
from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.ledger.expiry import sweep
from app.storage.database import connect
from app.storage.embedded.turns import Seeded
from tests.factories import adjust, capture, debit, grant, release, reserve
from tests.faults import DuplicateAt, EveryPoint, database_state
from tests.support.settings import START, auth, make_settings
from tests.support.verify import assert_verified
from tests.webhooks.helpers import PRO, pack_checkout, renewal_invoice, subscribe
from tests.webhooks.helpers import send as signed

# Faults are injected into the embedded engine; every unit fails at every point in turn.
pytestmark = [pytest.mark.embedded_only, pytest.mark.slow]


class RetryingClient(httpx.AsyncClient):
    """A 500 is retried as its sender would: an API client with the same Idempotency-Key,
    Stripe with the same event."""

    async def send(self, request, **kwargs):
        for _ in range(3):
            response = await super().send(request, **kwargs)
            if response.status_code != 500:
                break
        return response


def expect(response, status: int):
    assert response.status_code == status, response.text
    return response.json()


async def sweep_as_the_loop_does(app, clock) -> None:
    """The sweep skips (logs and counts) an account whose expiry failed, and takes it again at
    its next pass: passes until one finds nothing due."""
    assert (
        await sweep(app.state.services.repos, clock.now(), metrics=app.state.services.metrics) == 1
    )
    for _ in range(3):
        if (
            await sweep(app.state.services.repos, clock.now(), metrics=app.state.services.metrics)
            == 0
        ):
            return
    raise AssertionError("the sweep never got through")


async def ledger_story(client, app, clock, events) -> None:
    hour = clock.now() + timedelta(hours=1)
    expect(await grant(client, "user_1", 100, expires_at=hour, key="g1"), 201)
    expect(await grant(client, "user_1", 50, kind="compensation", key="g2"), 201)
    expect(await debit(client, "user_1", 30, key="d1"), 201)
    expect(await debit(client, "user_1", 30, key="d1"), 201)  # a replay
    expect(await debit(client, "user_1", 31, key="d1"), 409)  # reused with another body
    expect(await debit(client, "user_1", 500, key="d2"), 402)
    rid = expect(await reserve(client, "user_1", 40, key="r1"), 201)["id"]
    expect(await capture(client, rid, 25, key="c1"), 200)
    rid = expect(await reserve(client, "user_1", 10, key="r2"), 201)["id"]
    expect(await release(client, rid, key="x1"), 200)
    expect(await reserve(client, "user_1", 5, ttl_seconds=60, key="r3"), 201)  # will expire
    held = expect(await reserve(client, "user_1", 50, ttl_seconds=86400, key="r4"), 201)["id"]
    expect(await adjust(client, "user_1", -20, key="a1"), 201)
    expect(await adjust(client, "user_1", 15, key="a2"), 201)
    clock.advance(hours=2)  # the bonus expires under the 50-credit hold; r3 expires
    expect(await client.get("/v1/accounts/user_1", headers=auth("reader")), 200)
    expect(await capture(client, held, 10, key="c2"), 200)  # what it gives back expires
    expect(await adjust(client, "user_1", -200, key="a3"), 201)  # more than there is
    expect(await debit(client, "user_1", 1, key="d3"), 403)  # the balance is negative
    expect(await grant(client, "user_1", 300, key="g3"), 201)  # pays the deficit off
    expect(await debit(client, "user_1", 7, key="d4"), 201)
    expect(
        await grant(client, "user_2", 10, expires_at=clock.now() + timedelta(hours=1), key="g4"),
        201,
    )
    expect(await reserve(client, "user_2", 4, ttl_seconds=60, key="r5"), 201)
    clock.advance(hours=2)
    await sweep_as_the_loop_does(app, clock)  # nobody touches user_2
    for path in ("", "/grants", "/ledger", "/access", "/balance"):
        expect(await client.get(f"/v1/accounts/user_1{path}", headers=auth("reader")), 200)


async def webhook_story(client, app, clock, events) -> None:
    async def send(event, status: str = "processed"):
        assert expect(await signed(client, event), 200)["status"] == status

    # Events of a customer nobody linked yet park, and drain once checkout links it.
    await send(
        events.invoice_event(
            "invoice.paid",
            customer="cus_2",
            subscription="sub_2",
            billing_reason="subscription_create",
        ),
        "parked",
    )
    sub = await subscribe(client, events)
    await send(
        events.checkout_session_completed(
            customer="cus_2", account_id="user_2", subscription="sub_2"
        )
    )
    await send(pack_checkout(events, payment_intent="pi_pack", amount_total=1000))
    await send(
        events.charge_refunded(
            charge_id="ch_pack", payment_intent="pi_pack", amount=1000, amount_refunded=500
        )
    )
    dispute = {
        "dispute_id": "dp_1",
        "charge_id": "ch_pack",
        "payment_intent": "pi_pack",
        "amount": 1000,
    }
    await send(events.dispute_event("created", **dispute))
    await send(events.dispute_event("closed", status="lost", **dispute))
    expect(await debit(client, "user_1", 3, key="d1"), 201)
    # A customer linked by its metadata drains what was parked for it; an upgrade credits now.
    await send(
        events.invoice_event(
            "invoice.paid",
            customer="cus_3",
            subscription="sub_3",
            billing_reason="subscription_create",
        ),
        "parked",
    )
    await send(
        events.customer_event(
            "customer.updated", customer="cus_3", metadata={"account_id": "user_3"}
        )
    )
    clock.advance(days=10)
    events.now = int(clock.now().timestamp())
    await send(
        events.subscription_event(
            "updated",
            subscription_id="sub_1",
            customer="cus_1",
            price=PRO,
            period_start=sub["start"],
            period_end=sub["end"],
        )
    )
    clock.advance(seconds=MONTH - 10 * 86400)
    events.now = int(clock.now().timestamp())
    await send(renewal_invoice(events, period_start=sub["end"], type="invoice.payment_failed"))
    await send(renewal_invoice(events, period_start=sub["end"]))  # the old period closes
    await send(
        events.subscription_event(
            "deleted", subscription_id="sub_1", customer="cus_1", status="canceled"
        )
    )


async def run(story, faults=None, *, drop: tuple[str, ...] = ()) -> dict:
    factories._keys = itertools.count(1)
    clock = FrozenClock(START)
    events = StripeEvents("endive", now=int(START.timestamp()))
    events._counter = itertools.count(1)  # the same Stripe ids in every run
    db = connect(None, f"faults_{uuid.uuid4().hex[:8]}")
    db.engine.turns = Seeded(0)  # its clock is virtual: the re-runs' back-off does not wait
    app = create_app(make_settings(), db=db, clock=clock, sweeper=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with RetryingClient(transport=transport, base_url="http://test") as client:
            db.engine.faults = faults
            await story(client, app, clock, events)
            db.engine.faults = None
            metrics = (await client.get("/metrics", headers=auth("admin"))).text
            # A sweep that met a fault counts the account it skipped: the one difference.
            metrics = "\n".join(
                line for line in metrics.splitlines() if "job_failures_total" not in line
            )
        await assert_verified(app)
        state = await database_state(db, drop=drop)
    await db.close()
    reruns = [line for line in metrics.splitlines() if line.startswith(RERUNS)]
    kept = "\n".join(line for line in metrics.splitlines() if not line.startswith(RERUNS))
    return {**state, "metrics": kept, "reruns": sum(int(r.split()[-1]) for r in reruns)}


RERUNS = "credit_ledger_transaction_retries_total{"


STORIES = {"ledger": ledger_story, "webhooks": webhook_story}


@pytest.mark.parametrize("name", STORIES)
async def test_every_unit_failing_at_every_point_in_turn_ends_as_the_clean_run(name, capsys):
    story = STORIES[name]
    clean = await run(story)
    plan = EveryPoint()

    faulted = await run(story, plan)

    with capsys.disabled():
        print(
            f"\n[{name}] {plan.units} units of work, {plan.pairs} (unit, point) pairs "
            "failed in turn (write conflicts at each step, unknown commit results)"
        )
    assert plan.pairs > plan.units * 3
    assert (clean.pop("reruns"), faulted.pop("reruns") > plan.units) == (0, True)
    assert faulted == clean


@pytest.mark.parametrize("name", STORIES)
async def test_a_duplicate_key_at_any_insert_aborts_cleanly_and_the_retry_ends_as_clean(
    name, capsys
):
    story = STORIES[name]
    drop = ("attempts",)  # a delivery answered 500 and sent again is one more attempt
    clean = await run(story, drop=drop)
    counter = DuplicateAt(-1)
    await run(story, counter)

    clean.pop("reruns")
    for n in range(counter.seen):
        faulted = await run(story, DuplicateAt(n), drop=drop)
        faulted.pop("reruns")
        assert faulted == clean, f"duplicate at insert {n}"

    with capsys.disabled():
        print(
            f"\n[{name}] a duplicate key at each of {counter.seen} inserts and upserts, "
            "one run each"
        )
    assert counter.seen > 10
