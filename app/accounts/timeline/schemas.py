"""API shapes of the timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

ItemKind = Literal["ledger_entry", "reservation", "stripe_event", "event", "topup"]


class TimelineItem(BaseModel):
    kind: ItemKind
    id: str
    at: datetime = Field(description="when it happened: created, or received for Stripe events")
    summary: str = Field(description="one line for people")
    data: dict[str, Any] = Field(description="the object as its own endpoint shows it")


class TimelinePage(BaseModel):
    data: list[TimelineItem]
    has_more: bool
    next_cursor: str | None = Field(description="opaque; pass as starting_after")
