"""The Python client's verify_webhook against the deliveries the dispatcher really sends:
accepted as sent, refused when anything in them changes or when they are late."""

from __future__ import annotations

import base64

import httpx
import pytest
from credit_ledger_client import AsyncCreditLedger, WebhookVerificationFailed, verify_webhook

from tests.events.helpers import register
from tests.factories import debit, make_account
from tests.support.settings import token


async def test_verify_webhook_accepts_the_services_deliveries_and_nothing_else(
    app, client, db, receiver
):
    endpoint = await register(client, receiver)
    await make_account(client, "user_1", 5)
    await debit(client, "user_1", 5)
    await app.state.services.dispatcher.run_once()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    ledger = AsyncCreditLedger(api_key=token("reader"), http_client=http)
    pushed = {e.id: e async for e in ledger.iter_events("user_1")}

    for delivery in receiver.received:
        event = verify_webhook(delivery.body, delivery.headers, endpoint["secret"])
        assert event == pushed[event.id]
    body, headers = receiver.received[0].body, receiver.received[0].headers
    sent = int(headers["webhook-timestamp"])
    other = "whsec_" + base64.b64encode(b"another secret, 24 bytes").decode()
    refused = [
        (body.replace(b"user_1", b"user_2"), headers, endpoint["secret"]),
        (body, headers, other),
        (body, {**headers, "webhook-id": "evt_000000000000000000000000"}, endpoint["secret"]),
        (body, {k: v for k, v in headers.items() if k != "webhook-signature"}, endpoint["secret"]),
    ]
    for tampered_body, tampered_headers, secret in refused:
        with pytest.raises(WebhookVerificationFailed):
            verify_webhook(tampered_body, tampered_headers, secret)
    with pytest.raises(WebhookVerificationFailed, match="too old"):
        verify_webhook(body, headers, endpoint["secret"], now=sent + 301)
    assert verify_webhook(body, headers, [other, endpoint["secret"]]).id in pushed
