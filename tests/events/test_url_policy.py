"""Endpoint URLs are read by the parser that sends them: what httpx cannot send is refused at
registration, a stored one that fails anyway is a failed attempt like any other, and in
production only global addresses are reached, at the address that was checked."""

import contextlib

import httpx
import pytest
from bson import ObjectId

from app.http.app import create_app
from app.outbox.dispatcher import DELIVERIES_TOTAL, Dispatcher
from app.outbox.urls import UrlPolicy
from app.storage.database import ENDPOINTS
from tests.events.helpers import deliveries, register
from tests.factories import assert_problem, make_account
from tests.support.settings import auth, make_settings

ADMIN = auth("events")


@pytest.mark.parametrize(
    "tail",
    [
        "/hook\n",  # a copy-paste's trailing newline
        "/ho\tok",
        "/hook\r\n",
        "/ho ok",
    ],
)
async def test_a_url_with_control_characters_is_refused(client, db, receiver, tail):
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": receiver.url + tail}, headers=ADMIN
    )

    assert_problem(response, 422, "validation_error")
    assert "control characters" in response.json()["detail"]
    assert await db[ENDPOINTS].count_documents({}) == 0


@pytest.mark.parametrize(
    "host", ["0177.0.0.1", "127.1", "0x7f.0.0.1", "2130706433", "127.0.0.1.", "1.2.3.4.5"]
)
async def test_an_ip_address_in_a_non_canonical_form_is_refused(client, db, host):
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": f"http://{host}:9/hook"}, headers=ADMIN
    )

    assert_problem(response, 422, "validation_error")
    assert "four decimal numbers" in response.json()["detail"]
    assert await db[ENDPOINTS].count_documents({}) == 0


async def test_the_stored_url_is_the_form_that_is_sent(client):
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": "http://Hooks.Example.COM/a%20b"}, headers=ADMIN
    )

    assert response.status_code == 201, response.text
    assert response.json()["url"] == "http://hooks.example.com/a%20b"


async def test_a_stored_url_that_cannot_be_sent_is_a_failed_attempt_and_jams_nothing(
    app, client, db, receiver
):
    # Registered before registration refused it: the dispatcher must not stall on it.
    healthy = await register(client, receiver)
    broken = {**(await db[ENDPOINTS].find_one({"_id": healthy["id"]}))}
    broken.update(_id=f"we_{ObjectId()}", url=receiver.url + "/hook\n")
    await db[ENDPOINTS].insert_one(broken)
    await make_account(client, "user_1", 100)

    assert await app.state.services.dispatcher.run_once() == 2

    (failed,) = await deliveries(client, broken["_id"])
    assert (failed["status"], failed["attempts"]) == ("pending", 1)
    assert failed["next_attempt_at"] is not None
    assert failed["last_attempt"]["status_code"] is None
    assert "control characters" in failed["last_attempt"]["error"]
    assert app.state.services.metrics.value(DELIVERIES_TOTAL, outcome="retrying") == 1
    assert (await db[ENDPOINTS].find_one({"_id": broken["_id"]}))["failing_since"] is not None
    assert [d["status"] for d in await deliveries(client, healthy["id"])] == ["succeeded"]
    assert len(receiver.received) == 1


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
        "https://100.100.100.200/latest/meta-data",  # a cloud's metadata, in carrier NAT
        "https://100.64.0.1/hook",
        "https://[2002:7f00:1::1]/hook",  # 6to4 of 127.0.0.1
        "https://[2002:a00:1::1]/hook",  # 6to4 of 10.0.0.1
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://192.0.2.1/hook",  # documentation range
        "https://198.18.0.1/hook",  # benchmarking range
        "https://240.0.0.1/hook",  # reserved
        "https://224.0.0.1/hook",  # multicast
    ],
)
async def test_production_refuses_every_non_global_address(db, clock, url):
    async with _production_client(db, clock) as client:
        response = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=ADMIN)

    assert_problem(response, 422, "validation_error")
    assert await db[ENDPOINTS].count_documents({}) == 0


class Rebinding:
    """A DNS server whose answer for the name changes after the first question."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked += 1
        return [self.answers[min(self.asked, len(self.answers)) - 1]]


async def test_production_connects_to_the_address_it_checked(app, client, db, clock):
    await client.post(
        "/v1/webhook-endpoints", json={"url": "https://hooks.example.com/hook"}, headers=ADMIN
    )
    await make_account(client, "user_1", 100)
    dns = Rebinding("93.184.216.34", "127.0.0.1")
    sent: list[httpx.Request] = []

    def network(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    state = app.state.services.dispatcher
    dispatcher = Dispatcher(
        state.events,
        state.endpoints,
        state.deliveries,
        UrlPolicy(production=True, allow_private=False, resolver=dns),
        clock,
        app.state.services.metrics,
        transport=httpx.MockTransport(network),
    )
    try:
        assert await dispatcher.run_once() == 1
    finally:
        await dispatcher.stop()

    (request,) = sent
    assert request.url.host == "93.184.216.34" and dns.asked == 1
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


async def test_production_refuses_at_sending_a_name_that_now_resolves_inside(
    app, client, db, clock
):
    await client.post(
        "/v1/webhook-endpoints", json={"url": "https://hooks.example.com/hook"}, headers=ADMIN
    )
    await make_account(client, "user_1", 100)
    sent: list[httpx.Request] = []
    state = app.state.services.dispatcher
    dispatcher = Dispatcher(
        state.events,
        state.endpoints,
        state.deliveries,
        UrlPolicy(production=True, allow_private=False, resolver=Rebinding("100.100.100.200")),
        clock,
        app.state.services.metrics,
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200)),
    )
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.stop()

    assert sent == []
    (delivery,) = await deliveries(client, (await db[ENDPOINTS].find_one({}))["_id"])
    assert delivery["attempts"] == 1 and "non-public" in delivery["last_attempt"]["error"]
