"""/metrics stays small and can be closed: labels come from a fixed set (an invented Stripe
event type counts as `other`), and METRICS_TOKEN / METRICS_ALLOWED_NETWORKS restrict it."""

from __future__ import annotations

import httpx
import pytest
from stripe_fixtures import StripeEvents

from app.http.app import create_app
from app.kit.config import SettingsError, load_settings
from tests.support.settings import make_settings
from tests.webhooks.helpers import send_ok

TOKEN = "metrics-token-0123456789abcdef"


async def test_invented_event_types_add_no_series(client, clock):
    events = StripeEvents("endive", now=int(clock.now().timestamp()))
    before = len((await client.get("/metrics")).text)

    for n in range(50):
        event = events.event(f"made.up.type_{n}", {"id": f"obj_{n}", "object": "thing"})
        assert await send_ok(client, event) == "ignored"

    text = (await client.get("/metrics")).text
    assert "made.up" not in text
    assert 'credit_ledger_webhook_events_total{status="ignored",type="other"} 50' in text
    assert len(text) - before < 300


@pytest.fixture
def restricted(db, clock):
    def build(**settings):
        app = create_app(make_settings(**settings), db=db, clock=clock, sweeper=False)

        def client(address: str = "127.0.0.1") -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(address, 5000))
            return httpx.AsyncClient(transport=transport, base_url="http://test")

        return client

    return build


async def test_a_metrics_token_is_required_when_set(restricted):
    client = restricted(metrics_token=TOKEN)
    async with client() as c:
        missing = await c.get("/metrics")
        wrong = await c.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert right.status_code == 200 and "# HELP" in right.text


async def test_allowed_networks_close_metrics_to_other_addresses(restricted):
    client = restricted(metrics_allowed_networks="10.0.0.0/8, 127.0.0.1")
    async with (
        client("127.0.0.1") as local,
        client("10.2.3.4") as inside,
        client("203.0.113.9") as outside,
    ):
        assert (await local.get("/metrics")).status_code == 200
        assert (await inside.get("/metrics")).status_code == 200
        assert (await outside.get("/metrics")).status_code == 403


@pytest.mark.parametrize(
    ("name", "value"), [("metrics_token", "short"), ("metrics_allowed_networks", "10.0.0.0/33")]
)
def test_a_bad_restriction_stops_the_start(name, value):
    with pytest.raises(SettingsError, match=name.upper()):
        load_settings(_env_file=None, **{name: value})
