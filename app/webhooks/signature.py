"""Verifying a webhook body against Stripe's signature, before anything is parsed or stored."""

from __future__ import annotations

import json
from typing import Any

import stripe

from app.errors import InvalidPayload, InvalidSignature

TOLERANCE_SECONDS = 300


def verify_event(body: bytes, header: str | None, secrets: tuple[str, ...]) -> dict[str, Any]:
    """Check the signature with every configured secret (rotation), then parse the event."""
    if not header:
        raise InvalidSignature("missing Stripe-Signature header")
    text = body.decode("utf-8", errors="replace")
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, TOLERANCE_SECONDS)
            break
        except stripe.SignatureVerificationError:
            continue
    else:
        # One message for every cause: which secret or part failed is not the caller's business.
        raise InvalidSignature("signature does not match, or its timestamp is too old")
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidPayload("the body is not valid JSON") from None
    if not (isinstance(event, dict) and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str) and isinstance(event.get("data"), dict)
            and isinstance(event["data"].get("object"), dict)):
        raise InvalidPayload("the body is not a Stripe event (id, type, data.object)")
    return event
