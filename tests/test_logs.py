"""Logs are records a reader can trust: JSON lines in production, one readable line each in
development, each with its request's id; text from a signed Stripe event forges no line and
is cut short wherever it is logged, stored or shown."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest
from stripe_fixtures import StripeEvents, signed_request

from app.kit.logs import MAX_MESSAGE, configure_logging
from tests.console.helpers import sign_in
from tests.support.settings import WEBHOOK_SECRET, auth
from tests.webhooks.helpers import pack_checkout, send_ok

FORGERY = "price_x\nERROR app.auth: FORGED LINE\r\x1b[2K"


@pytest.fixture
def events(clock) -> StripeEvents:
    return StripeEvents("endive", now=int(clock.now().timestamp()))


@pytest.fixture
def log_output():
    """What the service's handler writes, configured as `make run` and `serve` configure it."""
    written = io.StringIO()
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)

    def configure(json_lines: bool) -> io.StringIO:
        configure_logging(json_lines, stream=written)
        return written

    yield configure
    root.handlers[:], root.level = kept


async def test_a_price_id_with_a_newline_forges_no_line_in_development(client, events, log_output):
    out = log_output(json_lines=False)

    assert await send_ok(client, events.subscription_event("created", price=FORGERY)) == "failed"

    lines = out.getvalue().splitlines()
    assert lines, "the failure is logged"
    assert not [line for line in lines if "FORGED" in line and not line.startswith("WARNING ")]
    assert any("price_x\\nERROR app.auth: FORGED LINE\\r\\x1b[2K" in line for line in lines)


async def test_production_lines_are_json_with_the_request_id(client, events, log_output):
    out = log_output(json_lines=True)
    event = events.invoice_event(price=FORGERY, customer="cus_9")

    await client.post("/webhooks/stripe", content=b"{}", headers={"X-Request-Id": "ticket-42"})
    body, headers = signed_request(event, WEBHOOK_SECRET)
    await client.post(
        "/webhooks/stripe", content=body, headers={**headers, "X-Request-Id": "ticket-43"}
    )

    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert all(r["request_id"] == "ticket-43" for r in records if "FORGED" in r["message"])
    assert any("FORGED" in r["message"] for r in records)


async def test_a_200_kb_pack_name_is_cut_short_in_the_log_the_event_log_and_the_console(
    client, events, log_output
):
    out = log_output(json_lines=False)
    event = pack_checkout(events, pack="p" * 200_000)

    assert await send_ok(client, event) == "failed"

    assert max(len(line) for line in out.getvalue().splitlines()) < MAX_MESSAGE + 200
    (stored,) = (await client.get("/v1/webhook-events", headers=auth())).json()["data"]
    assert 0 < len(stored["error"]) <= 1000 and "more characters" in stored["error"]
    await sign_in(client)
    page = await client.get("/console/stripe-events")
    assert page.status_code == 200 and len(page.text) < 50_000


async def test_an_exception_is_logged_once_with_its_request_id_and_answered_with_it(
    app, log_output
):
    out = log_output(json_lines=True)

    @app.get("/boom")
    async def boom():
        raise RuntimeError("boom\nERROR app.auth: FORGED")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom", headers={"X-Request-Id": "bad id\n"})

    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert request_id.startswith("req_") and request_id in response.json()["detail"]
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    (failure,) = [r for r in records if "exception" in r]
    assert failure["request_id"] == request_id and "RuntimeError" in failure["exception"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/healthz", 200),
        ("get", "/v1/accounts/user_1", 401),  # answered by the authentication middleware
        ("get", "/nowhere", 404),
        ("delete", "/healthz", 405),
        ("get", "/console/accounts", 303),
        ("post", "/webhooks/stripe", 400),
    ],
)
async def test_every_answer_carries_the_request_id_it_was_given(client, method, path, status):
    response = await client.request(method, path, headers={"X-Request-Id": "ticket-7.a:b_c"})

    assert response.status_code == status
    assert response.headers["x-request-id"] == "ticket-7.a:b_c"


@pytest.mark.parametrize(
    "given", [None, "", "x" * 65, "a b", "<script>", "-leading", "\xc3\xa9".encode("latin-1")]
)
async def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(client, given):
    headers = {} if given is None else {"X-Request-Id": given}

    first = await client.get("/healthz", headers=headers)
    second = await client.get("/healthz", headers=headers)

    ids = [r.headers["x-request-id"] for r in (first, second)]
    assert all(i.startswith("req_") and len(i) == 28 for i in ids) and ids[0] != ids[1]
