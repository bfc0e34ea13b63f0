"""The check every scenario ends with: the invariants of the billing rules, as the service says."""

from __future__ import annotations

import httpx

from tests.support.settings import auth


async def assert_verified(application) -> None:
    """The billing rules' invariants hold on every account, as GET /v1/admin/verify says."""
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get("/v1/admin/verify", headers=auth("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["ok"], r.json()["problems"]
