"""Key guessing is seen and slowed: every refused credential is counted in /metrics by door,
and an address that keeps failing gets 429 at that door for a while, a right key included."""

from __future__ import annotations

import httpx
import pytest

from app.http.app import create_app
from tests.console.helpers import hidden
from tests.support.settings import auth, make_settings

BURST = 20


def failures(text: str, door: str) -> int:
    prefix = f'credit_ledger_auth_failures_total{{door="{door}"}} '
    found = [line for line in text.splitlines() if line.startswith(prefix)]
    return int(found[0].removeprefix(prefix)) if found else 0


@pytest.fixture
async def from_elsewhere(app):
    """A second caller, at another address."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
        yield other


async def test_wrong_api_keys_are_counted_then_slowed_per_address(client, clock, from_elsewhere):
    answers = [
        (await client.get("/v1/accounts", headers={"Authorization": f"Bearer guess-{n}"}))
        for n in range(BURST + 5)
    ]

    assert [r.status_code for r in answers] == [401] * BURST + [429] * 5
    assert answers[-1].json()["code"] == "too_many_failures"
    assert int(answers[-1].headers["retry-after"]) >= 1
    # The right key from the same address waits too; another address does not.
    assert (await client.get("/v1/accounts", headers=auth())).status_code == 429
    assert (await from_elsewhere.get("/v1/accounts", headers=auth())).status_code == 200
    clock.advance(seconds=2)
    assert (await client.get("/v1/accounts", headers=auth())).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert failures(metrics, "api") == BURST


async def test_no_credentials_at_all_is_not_a_guess(client):
    for _ in range(BURST + 5):
        assert (await client.get("/v1/accounts")).status_code == 401

    assert (await client.get("/v1/accounts", headers=auth())).status_code == 200


async def _sign_in_with(client, key: str) -> httpx.Response:
    page = await client.get("/console/login")
    return await client.post(
        "/console/login", data={"csrf_token": hidden(page.text, "csrf_token"), "key": key}
    )


async def test_wrong_console_keys_are_counted_then_slowed(client):
    locations = [
        (await _sign_in_with(client, f"guess-{n}")).headers["location"] for n in range(BURST + 2)
    ]

    assert (
        locations
        == ["/console/login?error=refused"] * BURST + ["/console/login?error=throttled"] * 2
    )
    right = await _sign_in_with(client, "key-admin")
    assert right.headers["location"] == "/console/login?error=throttled"
    assert failures((await client.get("/metrics")).text, "console") == BURST


async def test_the_burst_is_a_setting(db, clock):
    app = create_app(make_settings(auth_failure_burst=2), db=db, clock=clock, sweeper=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        codes = [
            (await client.get("/v1/accounts", headers={"Authorization": "Bearer x"})).status_code
            for _ in range(3)
        ]

    assert codes == [401, 401, 429]
