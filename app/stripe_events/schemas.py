"""API shapes of the webhook side."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class WebhookAnswer(BaseModel):
    status: str


class WebhookEvent(BaseModel):
    id: str
    type: str
    created: datetime | None
    api_version: str | None
    account_id: str | None
    customer_id: str | None
    status: str
    error: str | None
    note: str | None = None
    attempts: int
    received_at: datetime | None
    processed_at: datetime | None


class WebhookEventPage(BaseModel):
    data: list[WebhookEvent]
    has_more: bool
    next_cursor: str | None
