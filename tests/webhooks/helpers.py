"""Sending signed Stripe events to the app, and reading what they did."""

from __future__ import annotations

from app.db import STRIPE_EVENTS
from tests.conftest import WEBHOOK_SECRET, auth
from tests.stripe_events import signed_request


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
