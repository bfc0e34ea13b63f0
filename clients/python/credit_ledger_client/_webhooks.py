"""Verifying the events the service pushes to a webhook endpoint. They are signed as
Standard Webhooks sign (webhook-id, webhook-timestamp, webhook-signature: HMAC-SHA256 of
"id.timestamp.body" with the endpoint's whsec_ secret); checked here with the standard
library only, before the body is parsed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from credit_ledger_client._models import Event

TOLERANCE_SECONDS = 300  # a delivery signed more than 5 minutes ago, or ahead, is refused
SECRET_PREFIX = "whsec_"


class WebhookVerificationFailed(Exception):
    """The delivery is not from the service (or was replayed late): answer 400, drop it."""


def _expected(secret: str, msg_id: str, timestamp: str, body: bytes) -> bytes:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | list[str],
    *,
    now: float | None = None,
) -> Event:
    """The event, if the delivery is signed with `secret` (or, during a rotation, with any
    of a list of them) within the last 5 minutes; WebhookVerificationFailed otherwise.
    `body` is the request's raw bytes, before any JSON parsing."""
    raw = body.encode() if isinstance(body, str) else body
    lower = {name.lower(): value for name, value in headers.items()}
    msg_id = lower.get("webhook-id")
    timestamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationFailed("missing webhook-id, -timestamp or -signature header")
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookVerificationFailed("webhook-timestamp is not a number") from None
    if abs((time.time() if now is None else now) - sent) > TOLERANCE_SECONDS:
        raise WebhookVerificationFailed("webhook-timestamp is too old or too new")
    offered = [
        value.encode()
        for version, _, value in (part.partition(",") for part in signatures.split())
        if version == "v1"
    ]
    for candidate in [secret] if isinstance(secret, str) else secret:
        expected = _expected(candidate, msg_id, timestamp, raw)
        if any(hmac.compare_digest(expected, sig) for sig in offered):
            event = json.loads(raw)
            if event.get("id") != msg_id:  # the id signed is the event's own
                raise WebhookVerificationFailed("webhook-id is not the event's id")
            return Event.from_json(event)
    raise WebhookVerificationFailed("no signature matches the secret")
