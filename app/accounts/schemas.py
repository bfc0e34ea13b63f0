"""API shapes of the read-only views: account lists, an account's holds, usage."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.ledger.schemas import Account, Reservation


class AccountList(BaseModel):
    data: list[Account]
    has_more: bool
    next_cursor: str | None


class ReservationList(BaseModel):
    data: list[Reservation]
    has_more: bool
    next_cursor: str | None


class UsageGroup(BaseModel):
    value: str | int | bool | None = Field(
        description="the metadata value (null: entries without the key), or with by_meter "
        "the meter (null: debits and captures by amount)"
    )
    credits: int
    operations: int
    quantity: int | None = Field(
        default=None,
        description="with by_meter: the units of the meter used (left out otherwise)",
        exclude_if=lambda value: value is None,
    )


class UsageBucket(BaseModel):
    start: datetime
    end: datetime
    credits: int = Field(description="credits spent by debits and captures in the bucket")
    operations: int = Field(description="how many debits and captures")
    groups: list[UsageGroup] | None = Field(
        default=None, description="split by the metadata value, with metadata_key"
    )


class UsageTotals(BaseModel):
    credits: int
    operations: int
    groups: list[UsageGroup] | None = None


class Usage(BaseModel):
    account_id: str
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    group_by: str
    metadata_key: str | None
    by_meter: bool = False
    data: list[UsageBucket]
    totals: UsageTotals
