"""Webhook endpoints through the API: secrets shown once, rotation, filters, URL rules."""

import base64
import contextlib
from datetime import datetime

import httpx
import pytest

from app.http.app import create_app
from app.storage.database import ENDPOINTS
from tests.events.helpers import deliveries, register
from tests.factories import assert_problem, debit, make_account
from tests.support.settings import auth, make_settings

ADMIN = auth("events")


async def _send(app) -> int:
    return await app.state.services.dispatcher.run_once()


async def test_create_shows_the_secret_once(client, db, receiver):
    endpoint = await register(client, receiver, description="billing emails")

    got = (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=ADMIN)).json()
    listed = (await client.get("/v1/webhook-endpoints", headers=ADMIN)).json()

    assert endpoint["secret"].startswith("whsec_")
    assert len(base64.b64decode(endpoint["secret"].removeprefix("whsec_"))) == 24
    assert "secret" not in got and "secret" not in listed["data"][0]
    assert got == {k: v for k, v in endpoint.items() if k != "secret"}
    assert got["event_types"] is None and got["disabled"] is False
    assert got["description"] == "billing emails"


async def test_event_types_filter_what_an_endpoint_gets(app, client, db, receiver):
    await register(client, receiver, event_types=["balance.depleted"])
    await make_account(client, "user_1", 10)
    await debit(client, "user_1", 10)

    await _send(app)

    assert [r.event["type"] for r in receiver.received] == ["balance.depleted"]
    assert all(r.verified for r in receiver.received)


async def test_rotation_signs_with_both_secrets_for_24_hours(app, client, db, clock, receiver):
    endpoint = await register(client, receiver)
    old = endpoint["secret"]
    rotated = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=ADMIN
    )
    new = rotated.json()["secret"]
    receiver.secrets["/hook"] = [old, new]  # each must verify on its own

    await make_account(client, "user_1", 10)
    await _send(app)
    clock.advance(hours=24, seconds=1)
    receiver.secrets["/hook"] = [new]
    await debit(client, "user_1", 10)
    await _send(app)

    assert rotated.status_code == 200 and new != old
    first, second = receiver.received
    assert first.verified and len(first.headers["webhook-signature"].split(" ")) == 2
    assert second.verified and len(second.headers["webhook-signature"].split(" ")) == 1


async def test_patch_disables_and_a_disabled_endpoint_gets_nothing(app, client, db, receiver):
    endpoint = await register(client, receiver)
    url = f"/v1/webhook-endpoints/{endpoint['id']}"

    off = await client.patch(url, json={"disabled": True}, headers=ADMIN)
    await make_account(client, "user_1", 10)
    await _send(app)
    on = await client.patch(
        url,
        json={"disabled": False, "event_types": ["credits.granted"], "url": receiver.url + "/hook"},
        headers=ADMIN,
    )

    assert off.json()["disabled"] is True and off.json()["disabled_reason"]
    assert receiver.received == []
    assert on.json()["disabled"] is False and on.json()["disabled_reason"] is None
    assert on.json()["event_types"] == ["credits.granted"]


async def test_delete_then_404(client, db, receiver):
    endpoint = await register(client, receiver)
    url = f"/v1/webhook-endpoints/{endpoint['id']}"

    assert (await client.delete(url, headers=ADMIN)).status_code == 204

    assert_problem(await client.get(url, headers=ADMIN), 404, "endpoint_not_found")
    assert_problem(await client.delete(url, headers=ADMIN), 404, "endpoint_not_found")
    assert await db[ENDPOINTS].count_documents({}) == 0


async def test_retry_by_api_sends_a_failed_delivery_again(app, client, db, clock, receiver):
    endpoint = await register(client, receiver)
    receiver.default = 500
    await make_account(client, "user_1", 10)
    await _send(app)
    while pending := await deliveries(client, endpoint["id"], status="pending"):
        clock.set(max(clock.now(), _time(pending[0]["next_attempt_at"])))
        await _send(app)
    (failed,) = await deliveries(client, endpoint["id"], status="failed")

    receiver.default = 200
    retried = await client.post(f"/v1/webhook-deliveries/{failed['id']}/retry", headers=ADMIN)
    await _send(app)

    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    (done,) = await deliveries(client, endpoint["id"], status="succeeded")
    assert done["id"] == failed["id"] and done["log"][-1]["status_code"] == 200
    assert len(set(receiver.ids)) == 1 and all(r.verified for r in receiver.received)
    assert_problem(
        await client.post("/v1/webhook-deliveries/whd_" + "0" * 24 + "/retry", headers=ADMIN),
        404,
        "delivery_not_found",
    )


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": ""},
        {"url": "ftp://example.com/x"},
        {"url": "not a url"},
        {"url": "http://user:pw@example.com/x"},
        {"url": "https://example.com/x#frag"},
        {"url": "https://example.com/" + "x" * 2100},
        {"url": 5},
        {"url": "https://example.com/x", "event_types": ["nope"]},
        {"url": "https://example.com/x", "event_types": "balance.low"},
        {"url": "https://example.com/x", "extra": True},
        {"url": "https://example.com/x", "description": "d" * 501},
    ],
)
async def test_bad_endpoints_are_refused_and_nothing_is_stored(client, db, body):
    response = await client.post("/v1/webhook-endpoints", json=body, headers=ADMIN)

    assert_problem(response, 422, "validation_error")
    assert await db[ENDPOINTS].count_documents({}) == 0


async def test_endpoints_need_events_admin(client, db):
    for method, path in (
        ("post", "/v1/webhook-endpoints"),
        ("get", "/v1/webhook-endpoints"),
        ("get", "/v1/webhook-endpoints/we_" + "0" * 24 + "/deliveries"),
    ):
        response = await client.request(
            method, path, json={"url": "https://example.com"}, headers=auth("reader")
        )
        assert_problem(response, 403, "forbidden")
    assert_problem(
        await client.get("/v1/webhook-endpoints/we_1", headers=ADMIN), 422, "validation_error"
    )
    assert_problem(
        await client.get("/v1/webhook-endpoints/we_" + "0" * 24, headers=ADMIN),
        404,
        "endpoint_not_found",
    )


@contextlib.asynccontextmanager
async def _production_client(db, clock, **settings):
    app = create_app(
        make_settings(
            app_env="production",
            mongodb_uri="mongodb://unused",
            jwt_audience="credit-ledger",
            **settings,
        ),
        db=db,
        clock=clock,
        sweeper=False,
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",  # http in production
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.7:8443/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://0.0.0.0/hook",
    ],
)
async def test_production_refuses_http_and_internal_addresses(db, clock, url):
    async with _production_client(db, clock) as client:
        response = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=ADMIN)

    assert_problem(response, 422, "validation_error")
    assert await db[ENDPOINTS].count_documents({}) == 0


async def test_production_allows_public_https_and_private_when_told(db, clock):
    async with _production_client(db, clock) as client:
        public = await client.post(
            "/v1/webhook-endpoints", json={"url": "https://93.184.216.34/hook"}, headers=ADMIN
        )
    async with _production_client(db, clock, outgoing_webhooks_allow_private=True) as client:
        private = await client.post(
            "/v1/webhook-endpoints", json={"url": "https://10.1.2.3/hook"}, headers=ADMIN
        )

    assert public.status_code == 201 and private.status_code == 201


async def test_development_allows_http_to_localhost(client, db):
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": "http://localhost:9000/hook"}, headers=ADMIN
    )

    assert response.status_code == 201


async def test_metrics_count_outcomes_and_the_oldest_undelivered_age(
    app, client, db, clock, receiver
):
    await register(client, receiver)
    receiver.answers = [500]
    await make_account(client, "user_1", 10)
    await _send(app)
    clock.advance(seconds=3)
    waiting = (await client.get("/metrics")).text
    clock.advance(seconds=3)
    await _send(app)
    done = (await client.get("/metrics")).text

    assert 'credit_ledger_webhook_deliveries_total{outcome="retrying"} 1' in waiting
    assert "credit_ledger_events_oldest_undelivered_seconds 3" in waiting
    assert 'credit_ledger_webhook_deliveries_total{outcome="succeeded"} 1' in done
    assert "credit_ledger_events_oldest_undelivered_seconds 0" in done
