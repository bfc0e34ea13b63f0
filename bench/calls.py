"""The collection calls of each operation, counted by the service's own call counter
(app/storage/calls.py) in-process: a property of the code, the same on either engine
(MONGODB_URI set: a throwaway database there)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Calls:
    operation: str
    calls: int
    commits: int
    made: list[str]


async def count_calls() -> list[Calls]:
    import httpx

    from app.http.app import create_app
    from app.kit.clock import Clock
    from app.kit.config import Scope, Settings, sha256_hex
    from app.storage.database import connect

    key = "bench-" + secrets.token_urlsafe(12)
    uri = os.environ.get("MONGODB_URI") or None
    name = f"bench_calls_{secrets.token_hex(4)}"
    settings = Settings(
        _env_file=None,
        app_env="development",
        mongodb_uri=uri,
        mongodb_db=name,
        api_keys=json.dumps(
            [{"name": "bench", "sha256": sha256_hex(key), "scopes": [s.value for s in Scope]}]
        ),
        stripe_webhook_secret="whsec_bench_calls",
        plans_file=str(ROOT / "plans.example.toml"),
    )
    db = connect(uri, name)
    app = create_app(settings, db=db, clock=Clock(), sweeper=False)
    out: list[Calls] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers={"Authorization": f"Bearer {key}"}
        ) as client:

            async def measure(
                operation: str, method: str, path: str, body=None, idem: str | None = None
            ) -> dict:
                db.calls.enabled = True
                db.calls.reset()
                headers = {"Idempotency-Key": idem} if idem else {}
                response = await client.request(method, path, json=body, headers=headers)
                out.append(Calls(operation, db.calls.total, db.calls.commits, db.calls.calls()))
                db.calls.enabled = False
                assert response.status_code < 300, response.text
                return response.json()

            a = "/v1/accounts/bench_calls"
            for n, expires in enumerate((None, None, "2999-01-01T00:00:00Z")):
                body = {"amount": 100, "kind": "bonus", "description": "calls"}
                if expires:
                    body["expires_at"] = expires
                await client.post(f"{a}/grants", json=body, headers={"Idempotency-Key": f"g{n}"})
            await measure("debit (from 3 grants)", "POST", f"{a}/debits", {"amount": 250}, "d1")
            await measure("debit replay", "POST", f"{a}/debits", {"amount": 250}, "d1")
            hold = await measure("hold", "POST", f"{a}/reservations", {"amount": 10}, "h1")
            await measure(
                "capture", "POST", f"/v1/reservations/{hold['id']}/capture", {"amount": 5}, "c1"
            )
            await measure(
                "capture replay",
                "POST",
                f"/v1/reservations/{hold['id']}/capture",
                {"amount": 5},
                "c1",
            )
            hold = await client.post(
                f"{a}/reservations", json={"amount": 10}, headers={"Idempotency-Key": "h2"}
            )
            await measure(
                "release", "POST", f"/v1/reservations/{hold.json()['id']}/release", None, "r1"
            )
            await measure("account read", "GET", a)
            await measure("access decision", "GET", f"{a}/access?cost=5")
            await measure("ledger page", "GET", f"{a}/ledger?limit=20")
            await measure(
                "grant (API)",
                "POST",
                f"{a}/grants",
                {"amount": 5, "kind": "bonus", "description": "calls"},
                "g9",
            )
    if uri:
        await db.client.drop_database(name)
    await db.close()
    return out
