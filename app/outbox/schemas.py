"""API shapes of outgoing events, alerts, webhook endpoints and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.ledger.schemas import MAX_CREDITS, WholeNumber
from app.outbox.urls import URL_PATTERN

ThresholdSource = Literal["account", "plan", "default", "off"]
EventType = Literal[
    "credits.granted",
    "credits.expiring",
    "credits.expired",
    "balance.low",
    "balance.depleted",
    "balance.recovered",
    "access.suspended",
    "access.restored",
    "subscription.updated",
    "reservation.expired",
    "stripe_event.failed",
    "topup.succeeded",
    "topup.failed",
    "auto_topup.disabled",
    "auto_topup.cap_reached",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
EVENT_ID_PATTERN = r"^evt_[0-9a-f]{24}$"
ENDPOINT_ID_PATTERN = r"^we_[0-9a-f]{24}$"
DELIVERY_ID_PATTERN = r"^whd_[0-9a-f]{24}$"


class Event(BaseModel):
    id: str
    type: EventType
    account_id: str | None
    account_seq: int
    created_at: datetime
    data: dict[str, Any]


class EventPage(BaseModel):
    data: list[Event]
    has_more: bool
    next_cursor: str | None


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


Threshold = Annotated[WholeNumber, Field(ge=1, le=MAX_CREDITS)]


class AlertsUpdate(_Request):
    low_balance_threshold: Threshold | None  # required: null turns the alert off


class Alerts(BaseModel):
    account_id: str
    low_balance_threshold: int | None
    source: ThresholdSource  # where the threshold comes from


# The pattern is documented, and checked with clearer messages by the URL policy.
Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048),
    Field(json_schema_extra={"pattern": URL_PATTERN}),
]
Description = Annotated[str, StringConstraints(max_length=500)]
EventTypes = Annotated[list[EventType], Field(max_length=len(EVENT_TYPES))]


class EndpointCreate(_Request):
    url: Url
    event_types: EventTypes | None = None  # null or absent: every type
    description: Description | None = None


class EndpointUpdate(_Request):
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    disabled: bool | None = None


class Endpoint(BaseModel):
    id: str
    url: str
    event_types: list[str] | None
    description: str | None
    disabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(Endpoint):
    secret: str  # shown once, at creation and rotation


class EndpointList(BaseModel):
    data: list[Endpoint]
    has_more: bool
    next_cursor: str | None


class Attempt(BaseModel):
    at: datetime
    status_code: int | None
    body: str | None  # the first 1 KiB of the receiver's answer
    error: str | None
    duration_ms: int


class Delivery(BaseModel):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_attempt: Attempt | None
    log: list[Attempt]
    created_at: datetime


class DeliveryPage(BaseModel):
    data: list[Delivery]
    has_more: bool
    next_cursor: str | None
