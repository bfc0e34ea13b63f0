"""Sending signed Stripe events to the app, and reading what they did."""

from __future__ import annotations

import copy
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from stripe_fixtures import MONTH, StripeEvents, signed_request

from app.storage.database import LEDGER, STRIPE_EVENTS
from tests.factories import assert_invariants, ledger_page, live_grants
from tests.support.settings import WEBHOOK_SECRET, auth

EXAMPLE_CATALOG = Path(__file__).resolve().parents[2] / "plans.example.toml"
STARTER, PRO, SCALE = "price_starter_monthly", "price_pro_monthly", "price_scale_monthly"


async def send(client, event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    body, headers = signed_request(event, secret, timestamp)
    return await client.post("/webhooks/stripe", content=body, headers=headers)


async def send_ok(client, event: dict) -> str:
    response = await send(client, event)
    assert response.status_code == 200, response.text
    return response.json()["status"]


async def stored_event(db, event_id: str) -> dict | None:
    return await db[STRIPE_EVENTS].find_one({"_id": event_id})


async def get_account(client, account_id: str) -> dict:
    response = await client.get(f"/v1/accounts/{account_id}", headers=auth("reader"))
    assert response.status_code == 200, response.text
    return response.json()


async def access(client, account_id: str, cost: int = 1) -> dict:
    """The access decision: {allowed, reason, available}."""
    response = await client.get(
        f"/v1/accounts/{account_id}/access", params={"cost": cost}, headers=auth("reader")
    )
    assert response.status_code == 200, response.text
    return response.json()


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def iso(unix: int) -> str:
    """A unix time as the API renders it."""
    return at(unix).isoformat().replace("+00:00", "Z")


def same_time(api_value: str | None, unix: int) -> bool:
    return api_value is not None and datetime.fromisoformat(api_value) == at(unix)


def advance(clock, events: StripeEvents, *, days: float = 0, seconds: float = 0) -> int:
    """Move the service clock and the event factory together; returns the new unix now."""
    clock.advance(days=days, seconds=seconds)
    events.now = int(clock.now().timestamp())
    return events.now


# ---------------------------------------------------------------- catalogs


def example_catalog() -> dict:
    """plans.example.toml as a dict, to change and write back with `catalog_toml`."""
    with EXAMPLE_CATALOG.open("rb") as file:
        return copy.deepcopy(tomllib.load(file))


def catalog_toml(data: dict) -> str:
    """A catalog dict as TOML: [billing], [plans.<key>], [packs.<key>] of plain values."""
    lines: list[str] = []
    for section, body in data.items():
        if section == "meters":
            continue  # the rate card (arrays of tables, times): no Stripe test reads it
        tables = (
            {section: body}
            if section == "billing"
            else {f"{section}.{key}": table for key, table in body.items()}
        )
        for name, table in tables.items():
            lines.append(f"[{name}]")
            flat = {k: v for k, v in table.items() if not isinstance(v, dict)}
            lines += [f"{field} = {json.dumps(value)}" for field, value in flat.items()]
            lines.append("")
            for sub, inner in table.items():  # a plan's [plans.<key>.auto_topup]
                if isinstance(inner, dict):
                    lines.append(f"[{name}.{sub}]")
                    lines += [f"{field} = {json.dumps(value)}" for field, value in inner.items()]
                    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------- stories


async def subscribe(
    client,
    events: StripeEvents,
    *,
    account: str = "user_1",
    customer: str = "cus_1",
    subscription: str = "sub_1",
    price: str = STARTER,
) -> dict:
    """Checkout, customer.subscription.created (active) and the first paid invoice, at
    `events.now`; returns the period and the ids used."""
    start = events.now
    end = start + MONTH
    invoice = events.new_id("in")
    payment_intent = events.new_id("pi")
    assert (
        await send_ok(
            client,
            events.checkout_session_completed(
                customer=customer, account_id=account, subscription=subscription
            ),
        )
        == "processed"
    )
    assert (
        await send_ok(
            client,
            events.subscription_event(
                "created",
                subscription_id=subscription,
                customer=customer,
                price=price,
                period_start=start,
                period_end=end,
            ),
        )
        == "processed"
    )
    assert (
        await send_ok(
            client,
            events.invoice_event(
                "invoice.paid",
                invoice_id=invoice,
                customer=customer,
                subscription=subscription,
                price=price,
                billing_reason="subscription_create",
                period_start=start,
                period_end=end,
                payment_intent=payment_intent,
            ),
        )
        == "processed"
    )
    return {
        "start": start,
        "end": end,
        "invoice": invoice,
        "payment_intent": payment_intent,
        "account": account,
        "customer": customer,
        "subscription": subscription,
    }


def renewal_invoice(
    events: StripeEvents,
    *,
    period_start: int,
    customer: str = "cus_1",
    subscription: str = "sub_1",
    price: str = STARTER,
    type: str = "invoice.paid",
    invoice_id: str | None = None,
    **kw,
) -> dict:
    return events.invoice_event(
        type,
        invoice_id=invoice_id,
        customer=customer,
        subscription=subscription,
        price=price,
        billing_reason="subscription_cycle",
        period_start=period_start,
        period_end=period_start + MONTH,
        **kw,
    )


def pack_checkout(
    events: StripeEvents,
    *,
    account: str = "user_1",
    customer: str = "cus_1",
    pack: str = "boost_500",
    quantity: int | None = None,
    payment_intent: str = "pi_pack",
    amount_total: int = 1000,
    **kw,
) -> dict:
    metadata = {"pack": pack}
    if quantity is not None:
        metadata["quantity"] = str(quantity)
    return events.checkout_session_completed(
        mode="payment",
        customer=customer,
        account_id=account,
        metadata=metadata,
        payment_intent=payment_intent,
        amount_total=amount_total,
        **kw,
    )


# ---------------------------------------------------------------- reading


async def ledger_entries(client, account_id: str) -> list[dict]:
    """Every entry of the account, oldest first."""
    return list(reversed((await ledger_page(client, account_id, limit=100))["data"]))


async def entry_by_key(db, account_id: str, key: str) -> dict | None:
    return await db[LEDGER].find_one({"account_id": account_id, "idempotency_key": key})


async def state(client, account_id: str) -> dict:
    """What an account looks like from outside, without ids and its own timestamps: for
    comparing two accounts fed the same story."""
    acc = await get_account(client, account_id)
    for field in ("id", "stripe_customer_id", "stripe_subscription_id", "created_at", "updated_at"):
        acc.pop(field)
    grants = [
        {k: g[k] for k in ("kind", "amount", "remaining", "held", "expires_at")}
        for g in await live_grants(client, account_id)
    ]
    ledger = [
        (e["type"], e["amount"], e["balance_after"])
        for e in await ledger_entries(client, account_id)
    ]
    return {"account": acc, "grants": grants, "ledger": ledger}


async def webhook_events(client, who: str = "events", **params):
    return await client.get("/v1/webhook-events", params=params, headers=auth(who))


async def assert_every_account(db) -> None:
    """The invariants on every account there is (none is fine): for scenarios about no one."""
    for acc in await db["accounts"].find({}, {"_id": 1}).to_list(None):
        await assert_invariants(db, acc["_id"])
