"""Webhook endpoints are capped (MAX_WEBHOOK_ENDPOINTS, default 20): each one multiplies every
event into one more delivery. The cap holds when registrations race."""

from __future__ import annotations

import asyncio

import httpx

from app.http.app import create_app
from app.storage.database import ENDPOINTS
from tests.factories import assert_problem
from tests.support.settings import auth, make_settings

ADMIN = auth("events")


async def _register(client, n: int) -> httpx.Response:
    return await client.post(
        "/v1/webhook-endpoints", json={"url": f"https://hooks{n}.example.com/h"}, headers=ADMIN
    )


async def test_the_21st_endpoint_is_refused_by_default(client, db):
    for n in range(20):
        assert (await _register(client, n)).status_code == 201

    refused = await _register(client, 20)

    assert_problem(refused, 409, "too_many_webhook_endpoints")
    assert "MAX_WEBHOOK_ENDPOINTS" in refused.json()["detail"]
    assert await db[ENDPOINTS].count_documents({}) == 20


async def test_a_deleted_endpoint_frees_its_place(client, db):
    made = [(await _register(client, n)).json()["id"] for n in range(20)]
    await client.delete(f"/v1/webhook-endpoints/{made[0]}", headers=ADMIN)

    assert (await _register(client, 99)).status_code == 201


async def test_the_cap_is_a_setting_and_holds_under_concurrent_registrations(db, clock):
    app = create_app(make_settings(max_webhook_endpoints=3), db=db, clock=clock, sweeper=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        answers = await asyncio.gather(*(_register(client, n) for n in range(10)))

    assert sorted(r.status_code for r in answers) == [201] * 3 + [409] * 7
    assert await db[ENDPOINTS].count_documents({}) == 3
