"""Stripe's webhook endpoint and the event log with replay."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request

from app.auth import EventsAdmin
from app.errors import PayloadTooLarge, WebhooksDisabled
from app.webhooks import schemas
from app.webhooks.signature import MAX_BODY_BYTES

router = APIRouter(tags=["webhooks"])

EventStatus = Literal["received", "processed", "duplicate", "ignored", "parked", "failed"]


async def _read_body(request: Request) -> bytes:
    """The raw body, refused past 1 MiB without reading further."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"webhook bodies are limited to {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"webhook bodies are limited to {MAX_BODY_BYTES} bytes")
    return bytes(body)


@router.post("/webhooks/stripe", response_model=schemas.WebhookAnswer)
async def receive_stripe_event(
    request: Request,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
):
    processor = request.app.state.webhooks
    if not processor.secrets:
        raise WebhooksDisabled("STRIPE_WEBHOOK_SECRET is not set")
    body = await _read_body(request)
    return schemas.WebhookAnswer(status=await processor.receive(body, stripe_signature))


@router.get("/v1/webhook-events", response_model=schemas.WebhookEventPage)
async def list_webhook_events(
    request: Request, caller: EventsAdmin,
    status: Annotated[EventStatus | None, Query()] = None,
    type: Annotated[str | None, Query(max_length=100)] = None,  # noqa: A002 - the spec's name
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=255)] = None,
):
    return await request.app.state.event_log.page(limit=limit, starting_after=starting_after,
                                                  status=status, type_=type)


@router.post("/v1/webhook-events/{event_id}/replay", response_model=schemas.WebhookEvent)
async def replay_webhook_event(request: Request, caller: EventsAdmin,
                               event_id: Annotated[str, Path(max_length=255)]):
    await request.app.state.webhooks.replay(event_id)
    return await request.app.state.event_log.get(event_id)
