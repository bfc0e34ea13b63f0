"""Webhook bodies and their `Stripe-Signature` header, signed as Stripe signs them."""

from __future__ import annotations

import json

import stripe

from stripe_fixtures.common import Obj


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header for `payload`: `t=<ts>,v1=<hmac-sha256 of "<ts>.<payload>">`.

    `timestamp` defaults to the real time (not a factory's clock): `construct_event` rejects
    signatures older than its tolerance (300 s) measured against the real clock.
    """
    return stripe.WebhookSignature.generate_signature_header(
        payload.decode("utf-8"), secret, timestamp
    )


def to_body(event: Obj) -> bytes:
    """The request body Stripe would send: compact JSON."""
    return json.dumps(event, separators=(",", ":")).encode("utf-8")


def signed_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    return {"Stripe-Signature": sign(body, secret, timestamp), "Content-Type": "application/json"}


def signed_request(
    event: Obj, secret: str, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """Body and headers, ready for `client.post(url, content=body, headers=headers)`."""
    body = to_body(event)
    return body, signed_headers(body, secret, timestamp)
