"""Small explicit factories and the spec's invariants, checked against the database."""

from __future__ import annotations

import itertools
from datetime import datetime

from app.storage.database import ACCOUNTS, GRANTS, LEDGER, RESERVATIONS, Database
from tests.support.settings import auth

_keys = itertools.count(1)


def new_key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


async def grant(
    client,
    account_id: str,
    amount: int,
    *,
    kind: str = "bonus",
    expires_at: datetime | None = None,
    key: str | None = None,
):
    body = {"amount": amount, "kind": kind, "description": "test grant"}
    if expires_at is not None:
        body["expires_at"] = expires_at.isoformat()
    return await client.post(
        f"/v1/accounts/{account_id}/grants",
        json=body,
        headers={**auth("admin"), "Idempotency-Key": key or new_key("g")},
    )


async def make_account(client, account_id: str = "user_1", balance: int = 100, **kw) -> str:
    response = await grant(client, account_id, balance, **kw)
    assert response.status_code == 201, response.text
    return account_id


async def debit(
    client, account_id: str, amount: int, *, key: str | None = None, who: str = "worker", **extra
):
    return await client.post(
        f"/v1/accounts/{account_id}/debits",
        json={"amount": amount, **extra},
        headers={**auth(who), "Idempotency-Key": key or new_key("d")},
    )


async def reserve(
    client, account_id: str, amount: int, *, ttl_seconds: int | None = None, key: str | None = None
):
    body = {"amount": amount}
    if ttl_seconds is not None:
        body["ttl_seconds"] = ttl_seconds
    return await client.post(
        f"/v1/accounts/{account_id}/reservations",
        json=body,
        headers={**auth("worker"), "Idempotency-Key": key or new_key("r")},
    )


async def capture(
    client, reservation_id: str, amount: int | None = None, *, key: str | None = None
):
    body = {} if amount is None else {"amount": amount}
    return await client.post(
        f"/v1/reservations/{reservation_id}/capture",
        json=body,
        headers={**auth("worker"), "Idempotency-Key": key or new_key("c")},
    )


async def release(client, reservation_id: str, *, key: str | None = None):
    return await client.post(
        f"/v1/reservations/{reservation_id}/release",
        headers={**auth("worker"), "Idempotency-Key": key or new_key("x")},
    )


async def account(client, account_id: str) -> dict:
    response = await client.get(f"/v1/accounts/{account_id}", headers=auth("reader"))
    assert response.status_code == 200, response.text
    return response.json()


async def snapshot(db: Database) -> dict[str, list]:
    """Every document of the ledger's collections, to prove a refused request wrote nothing."""
    out = {}
    for name in (ACCOUNTS, GRANTS, LEDGER, RESERVATIONS, "idempotency_keys"):
        out[name] = await db[name].find({}).sort("_id", 1).to_list(None)
    return out


async def assert_invariants(db: Database, account_id: str) -> dict:
    """The spec's invariants 1-4 for one account; returns the account document."""
    acc = await db[ACCOUNTS].find_one({"_id": account_id})
    assert acc is not None, f"no account {account_id}"
    entries = await db[LEDGER].find({"account_id": account_id}).to_list(None)
    holds = await db[RESERVATIONS].find({"account_id": account_id}).to_list(None)
    grants = await db[GRANTS].find({"account_id": account_id}).to_list(None)
    # 1. The cached balance is the sum of the ledger.
    assert acc["balance"] == sum(e["amount"] for e in entries)
    # 2. Reserved is the sum of live holds, and what grants have set aside for them.
    held = sum(r["amount"] for r in holds if r["status"] == "held")
    assert acc["reserved"] == held
    assert sum(g["held"] for g in grants) == held
    # The account's own count of its held reservations (the MAX_HELD_RESERVATIONS bound), and
    # the grants it lists include every one that still has credits.
    assert acc.get("holds", 0) == sum(1 for r in holds if r["status"] == "held")
    listed = set(acc.get("grant_ids", []))
    assert all(
        g["_id"] in listed
        for g in grants
        if not g["expired"] and (g["remaining"] > 0 or g["held"] > 0)
    )
    # 3. Balance is what the grants still have (live remaining + held) less the deficit.
    live = sum(g["remaining"] for g in grants if not g["expired"])
    assert all(g["remaining"] == 0 for g in grants if g["expired"])
    assert acc["balance"] == live + sum(g["held"] for g in grants) - acc["deficit"]
    # 4. Never spent below zero: no grant is overdrawn, and without a deficit nothing is owed.
    assert all(g["remaining"] >= 0 and g["held"] >= 0 for g in grants)
    assert acc["deficit"] >= 0
    if acc["deficit"] == 0:
        assert acc["balance"] - acc["reserved"] >= 0
    return acc


async def adjust(
    client, account_id: str, amount: int, *, reason: str = "operator fix", key: str | None = None
):
    return await client.post(
        f"/v1/accounts/{account_id}/adjustments",
        json={"amount": amount, "reason": reason},
        headers={**auth("admin"), "Idempotency-Key": key or new_key("a")},
    )


async def live_grants(client, account_id: str) -> list[dict]:
    response = await client.get(f"/v1/accounts/{account_id}/grants", headers=auth("reader"))
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def ledger_page(client, account_id: str, **params) -> dict:
    response = await client.get(
        f"/v1/accounts/{account_id}/ledger", params=params, headers=auth("reader")
    )
    assert response.status_code == 200, response.text
    return response.json()


def assert_problem(response, status: int, code: str) -> dict:
    """An RFC 9457 problem answer with the spec's stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys()
    assert body["status"] == status
    assert body["code"] == code
    return body
