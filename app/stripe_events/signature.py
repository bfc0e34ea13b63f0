"""Verifying a webhook body against Stripe's signature, before anything is parsed or stored."""

from __future__ import annotations

from typing import Any

import stripe

from app.kit.errors import InvalidPayload, InvalidSignature
from app.stripe_events.validation import parse_event

TOLERANCE_SECONDS = 300


def verify_event(
    body: bytes, header: str | None, secrets: tuple[str, ...]
) -> tuple[dict[str, Any], str]:
    """Check the signature with every configured secret (rotation), then parse the event;
    returns it with its text (what the event log stores)."""
    if not header:
        raise InvalidSignature("missing Stripe-Signature header")
    # Stripe signs UTF-8 text; any other bytes cannot match a signature made of it.
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
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPayload("the body is not UTF-8 JSON") from None
    return parse_event(text), text
