"""Stripe's webhook endpoint and the event log with replay."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Header, Path, Query, Request

from app.http.auth import EventsAdmin
from app.http.deps import EventLogDep, WebhooksDep
from app.http.routes.common import PageSize, api_router
from app.kit.errors import WebhooksDisabled
from app.ledger.schemas import ACCOUNT_ID_PATTERN
from app.stripe_events import schemas
from app.stripe_events.repository import EventLogQuery

router = api_router(tags=["webhooks"])

EventStatus = Literal["received", "processed", "duplicate", "ignored", "parked", "failed"]


@router.post(
    "/webhooks/stripe", response_model=schemas.WebhookAnswer, operation_id="receiveStripeEvent"
)
async def receive_stripe_event(
    request: Request,
    processor: WebhooksDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
):
    if not processor.secrets:
        raise WebhooksDisabled("STRIPE_WEBHOOK_SECRET is not set")
    body = await request.body()  # at most 1 MiB: BodyLimit refused anything larger
    return schemas.WebhookAnswer(status=await processor.receive(body, stripe_signature))


@router.get(
    "/v1/webhook-events", response_model=schemas.WebhookEventPage, operation_id="listStripeEvents"
)
async def list_webhook_events(
    caller: EventsAdmin,
    event_log: EventLogDep,
    status: Annotated[EventStatus | None, Query()] = None,
    type: Annotated[str | None, Query(max_length=100)] = None,  # noqa: A002 - the API's name
    limit: PageSize = 20,
    starting_after: Annotated[str | None, Query(max_length=255)] = None,
    account_id: Annotated[str | None, Query(pattern=ACCOUNT_ID_PATTERN)] = None,
):
    return await event_log.page(EventLogQuery(limit, starting_after, status, type, account_id))


@router.post(
    "/v1/webhook-events/{event_id}/replay",
    response_model=schemas.WebhookEvent,
    operation_id="replayStripeEvent",
)
async def replay_webhook_event(
    caller: EventsAdmin,
    event_id: Annotated[str, Path(max_length=255)],
    processor: WebhooksDep,
    event_log: EventLogDep,
):
    await processor.replay(event_id)
    return await event_log.get(event_id)
