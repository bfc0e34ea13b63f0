"""Stripe's API is asked before an event's transaction, never inside it: a transaction that
MongoDB runs again (a write conflict, `TransientTransactionError`, which `with_transaction`
retries) repeats no HTTP call, and the transaction's first write is the account's. Faults are
injected into the embedded engine (tests/faults.py); Stripe's API is a real
stripe.StripeClient over tests/webhooks/fake_stripe_api.py."""

import pytest
import stripe
from stripe_fixtures.disputes import dispute
from stripe_fixtures.invoices import proration_line

from tests.factories import assert_invariants, live_grants
from tests.faults import ConflictOnce
from tests.webhooks.fake_stripe_api import API_KEY, FakeStripeAPI
from tests.webhooks.helpers import access, get_account, same_time
from tests.webhooks.shapes_story import DAY, MONTH, STARTER, Story, shapes_catalog

pytestmark = pytest.mark.embedded_only  # faults are injected into the embedded engine


@pytest.fixture
async def api_client(app_with):
    api = FakeStripeAPI()
    _, client = await app_with(
        shapes_catalog(),
        stripe_client=stripe.StripeClient(API_KEY, http_client=api, max_network_retries=0),
        stripe_api_key=API_KEY,
    )
    return api, client


def _renewal_cut_short(story: Story) -> tuple[dict, list[dict]]:
    """A renewal after many mid-period changes: Stripe lists the proration lines first, and
    the event carries the first 10 lines only (`lines.has_more`); the plan line is the 13th."""
    start, end = story.now, story.now + MONTH
    lines = [
        proration_line(
            STARTER,
            -100 - n,
            start=start - 20 * DAY,
            end=start,
            subscription=story.sub,
            name="Starter",
        )
        for n in range(12)
    ]
    lines.append(story.plan(STARTER, start, end))
    renewal = story.invoice(lines, "subscription_cycle")
    every = renewal["lines"]["data"]
    renewal["lines"] = {**renewal["lines"], "data": every[:10], "has_more": True}
    return renewal, every


def _line_requests(api: FakeStripeAPI, invoice_id: str) -> int:
    return sum(1 for path, _ in api.requests if path == f"/v1/invoices/{invoice_id}/lines")


@pytest.mark.parametrize("layout", ["current", "legacy"])
async def test_a_renewal_run_again_after_a_write_conflict_reads_its_lines_once(
    api_client, db, clock, layout
):
    """Stripe: "Invoice line items" (GET /v1/invoices/{id}/lines; a webhook's invoice carries
    its first lines, `has_more` says there are more) and "Subscription invoices" (the renewal,
    billing_reason subscription_cycle, lists pending prorations before the new period's line).
    MongoDB: "Transactions", `with_transaction` runs the callback again on a write conflict."""
    api, client = api_client
    story = Story(client, clock, layout)
    await story.subscribe(STARTER)
    clock.advance(days=30)
    renewal, every = _renewal_cut_short(story)
    api.invoice_lines[renewal["id"]] = every
    faults = ConflictOnce("update_one", "stripe_events")  # the event's final mark
    db.engine.faults = faults

    assert await story.send("invoice.paid", renewal) == "processed"

    db.engine.faults = None
    assert faults.conflicts == 1  # the transaction did run twice
    assert _line_requests(api, renewal["id"]) == 1
    acc = await get_account(client, "user_1")
    assert (acc["plan"], acc["subscription_status"], acc["balance"]) == ("starter", "active", 1300)
    assert same_time(acc["current_period_end"], story.now + MONTH)
    assert sorted(g["amount"] for g in await live_grants(client, "user_1")) == [300, 1000]
    assert (await access(client, "user_1"))["allowed"] is True
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize("layout", ["current", "legacy"])
async def test_a_renewals_transaction_writes_its_account_first(api_client, db, clock, layout):
    """Stripe: "Subscription invoices" (a renewal pays the new period). MongoDB: a transaction
    that writes a document another transaction changed since its snapshot gets a write
    conflict; written first, the account conflicts before the event's work, not after it."""
    api, client = api_client
    story = Story(client, clock, layout)
    await story.subscribe(STARTER)
    clock.advance(days=30)
    renewal, every = _renewal_cut_short(story)
    api.invoice_lines[renewal["id"]] = every
    faults = ConflictOnce("none", "none")  # records only
    db.engine.faults = faults

    assert await story.send("invoice.paid", renewal) == "processed"

    db.engine.faults = None
    [run] = [writes for writes in faults.runs if ("stripe_events", "find_one_and_update") in writes]
    assert run[0] == ("accounts", "update_one")
    assert (await get_account(client, "user_1"))["balance"] == 1300
    await assert_invariants(db, "user_1")


async def test_a_dispute_run_again_after_a_write_conflict_asks_stripe_once(api_client, db, clock):
    """Stripe: "Disputes" (charge.dispute.created names the charge and payment intent) and
    "Invoice payments" (GET /v1/invoice_payments?payment[payment_intent]=...: which invoice a
    payment paid, in the current layout where the invoice names no payment)."""
    api, client = api_client
    story = Story(client, clock, "current")
    first = await story.subscribe(STARTER)
    api.invoice_payments.append(
        {
            "id": "inpay_1",
            "object": "invoice_payment",
            "invoice": first["id"],
            "payment": {"type": "payment_intent", "payment_intent": "pi_1"},
            "status": "paid",
        }
    )
    faults = ConflictOnce("update_one", "stripe_events")
    db.engine.faults = faults

    opened = dispute(charge="ch_1", payment_intent="pi_1", amount=1000, created=story.now)
    assert await story.send("charge.dispute.created", opened) == "processed"

    db.engine.faults = None
    assert faults.conflicts == 1
    assert sum(1 for path, _ in api.requests if path == "/v1/invoice_payments") == 1
    acc = await get_account(client, "user_1")
    assert (acc["suspended_reason"], acc["balance"]) == ("disputed", 1000)
    assert (await access(client, "user_1"))["reason"] == "disputed"
    await assert_invariants(db, "user_1")
