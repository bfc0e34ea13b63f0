"""Request and response shapes of the ledger API (pydantic v2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
_ACCOUNT_ID = re.compile(ACCOUNT_ID_PATTERN.removeprefix("^").removesuffix("$"))


def is_account_id(value: object) -> bool:
    """The one rule for account ids, wherever they come from: a full match (`re.match` with
    `$` would let a trailing newline through)."""
    return isinstance(value, str) and _ACCOUNT_ID.fullmatch(value) is not None


# Credits are int64 in the API; one request may move at most a trillion, which keeps every
# sum of many requests far inside int64 and catches fat-fingered amounts.
MAX_CREDITS = 1_000_000_000_000
MAX_TTL_SECONDS = 86_400


def _whole(value: object) -> object:
    # JSON does not tell 3 from 3.0, and JSON Schema's integer is both: a whole number written
    # with a decimal point is that number; 2.5 and "3" stay refused.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


WholeNumber = Annotated[StrictInt, BeforeValidator(_whole)]
Credits = Annotated[WholeNumber, Field(ge=1, le=MAX_CREDITS)]
Description = Annotated[str, StringConstraints(max_length=500)]
MetadataKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
# Integers in metadata are stored as MongoDB int64: a bigger one must be refused here, not
# fail (a 500) at the insert after the balance has moved.
MetadataInt = Annotated[
    WholeNumber,
    # Exact bounds in the document (pydantic writes them as floats, which round up to 2^63).
    Field(ge=-(2**63), le=2**63 - 1, json_schema_extra={"minimum": -(2**63), "maximum": 2**63 - 1}),
]
MetadataValue = Annotated[str, StringConstraints(max_length=500)] | MetadataInt | bool | None


def _at_most_50(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > 50:
        raise ValueError("at most 50 metadata keys")
    return value


Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    AfterValidator(_at_most_50),
    Field(json_schema_extra={"maxProperties": 50, "additionalProperties": False}),
]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _in_utc(value: datetime) -> datetime:
    """Times are stored and compared in UTC (a naive one is taken as UTC); one that does not
    fit in UTC (year 9999 west of Greenwich) is bad input, not an OverflowError later."""
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None


# RFC 3339, as the document's `format: date-time` says: a date, a time and an offset. Not a
# number (pydantic would read it as a Unix time), not a bare date, not a local time.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc3339(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be a date-time with its offset, such as 2026-12-31T00:00:00Z")
    return value


UtcTime = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_in_utc)]


# Usage named by meter: the rate card prices it (app/billing/rates.py). Quantities are whole
# units (tokens, images, seconds); a meter with finer units says so in its name.
MAX_QUANTITY = 1_000_000_000  # x at most 1,000 credits a unit: within MAX_CREDITS
METER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
MeterName = Annotated[str, StringConstraints(pattern=METER_PATTERN)]
Quantity = Annotated[WholeNumber, Field(ge=1, le=MAX_QUANTITY)]
_METERED = ("meter", "quantity", "occurred_at")


def _amount_or_meter_schema(schema: dict[str, Any]) -> None:
    """The document says it too: an amount, or a meter and a quantity, never both (`false`:
    the property must not be there); and none of them may be null (left out, not null)."""
    for name in ("amount", *_METERED):
        prop = schema["properties"][name]
        choices = [c for c in prop.pop("anyOf", []) if c.get("type") != "null"]
        if choices:
            prop.update(choices[0])
        prop.pop("default", None)
    schema["oneOf"] = [
        {"required": ["amount"], "properties": {name: False for name in _METERED}},
        {"required": ["meter", "quantity"], "properties": {"amount": False}},
    ]


class SpendRequest(Request):
    """A debit or hold: `amount` credits, or `quantity` units of a `meter`, priced by the rate
    card at `occurred_at` (default: now) for the account's plan."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_amount_or_meter_schema)

    amount: Credits | None = None
    meter: MeterName | None = None
    quantity: Quantity | None = None
    occurred_at: UtcTime | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_explicit_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("amount", "meter", "quantity", "occurred_at"):
                if name in data and data[name] is None:
                    raise PydanticCustomError(
                        "null", "{name}: leave it out rather than null", {"name": name}
                    )
        return data

    @model_validator(mode="after")
    def _amount_or_meter(self) -> SpendRequest:
        metered = {n for n in _METERED if getattr(self, n) is not None}
        if self.amount is not None and metered:
            raise PydanticCustomError(
                "amount_or_meter", "amount: give an amount, or a meter and a quantity, not both"
            )
        if self.amount is None and not {"meter", "quantity"} <= metered:
            missing = "meter" if self.meter is None else "quantity"
            raise PydanticCustomError(
                "amount_or_meter",
                "{missing}: give an amount, or a meter and a quantity",
                {"missing": missing if metered else "amount"},
            )
        return self

    def request(self) -> dict[str, Any]:
        """The body as its idempotency fingerprint reads it: the fields of usage by meter
        only when named (a debit by amount reads as it did before meters existed)."""
        body = self.model_dump(mode="json")
        for name in ("amount", *_METERED):
            if body[name] is None:
                del body[name]
        return body


class DebitCreate(SpendRequest):
    description: Description | None = None
    metadata: Metadata = Field(default_factory=dict)


class ReservationCreate(SpendRequest):
    ttl_seconds: Annotated[WholeNumber, Field(ge=1, le=MAX_TTL_SECONDS)] = 300
    description: Description | None = None
    metadata: Metadata = Field(default_factory=dict)


class CaptureCreate(Request):
    amount: Credits | None = None


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return value
    if value.tzinfo is None:
        raise ValueError("must include a timezone, e.g. 2026-12-31T00:00:00Z")
    return _in_utc(value)


def _rfc3339_or_null(value: object) -> object:
    return None if value is None else _rfc3339(value)


class GrantCreate(Request):
    amount: Credits
    kind: Literal["bonus", "promotional", "compensation"]
    expires_at: Annotated[
        datetime | None, BeforeValidator(_rfc3339_or_null), AfterValidator(_aware)
    ] = None
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    metadata: Metadata = Field(default_factory=dict)


# Spelled out rather than \s, whose meaning differs between Python and the JSON Schema
# (ECMA) readers of the OpenAPI document: no @, space or control character (C0, DEL, C1).
_EMAIL_PART = r"[^@\x00-\x20\x7f-\x9f]+"
EMAIL_PATTERN = rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$"
AccountName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class AccountUpdate(Request):
    """Fields left out stay as they are; null clears one. `metadata` replaces the whole map."""

    # The document says it: an empty body is refused (see _names_a_field).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    name: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
            Field(json_schema_extra={"pattern": r"\S"}),  # not only spaces (they are stripped)
        ]
        | None
    ) = None
    email: Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)] | None = None
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _names_a_field(self) -> AccountUpdate:
        if not self.model_fields_set:
            raise ValueError("name at least one of name, email, metadata")
        return self


class GrantVoid(Request):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class GrantUpdate(Request):
    # Required, and null means "never": a PATCH that names no expiry changes nothing.
    expires_at: Annotated[
        datetime | None, BeforeValidator(_rfc3339_or_null), AfterValidator(_aware)
    ]
    reason: Description | None = None


def _nonzero(value: int) -> int:
    if value == 0:
        raise ValueError("must not be zero")
    return value


class AdjustmentCreate(Request):
    amount: Annotated[
        WholeNumber,
        Field(ge=-MAX_CREDITS, le=MAX_CREDITS, json_schema_extra={"not": {"const": 0}}),
        AfterValidator(_nonzero),
    ]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    metadata: Metadata = Field(default_factory=dict)


class Account(BaseModel):
    id: str
    balance: int
    reserved: int
    available: int
    deficit: int
    subscription_status: str
    plan: str | None
    current_period_end: datetime | None
    grace_until: datetime | None
    cancel_at: datetime | None
    suspended_reason: str | None
    stripe_customer_id: str | None
    stripe_subscription_id: str | None
    name: str | None = None
    email: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class GrantPart(BaseModel):
    grant_id: str
    kind: str | None = None
    amount: int


GrantStatus = Literal["live", "expired", "voided"]


class Grant(BaseModel):
    id: str
    kind: str
    amount: int
    remaining: int
    held: int
    expires_at: datetime | None
    source: str
    description: str | None = None
    status: GrantStatus = "live"
    created_at: datetime


class GrantList(BaseModel):
    data: list[Grant]
    has_more: bool
    next_cursor: str | None


class UnitPrice(BaseModel):
    credits: int
    per: int


class MeteredUsage(BaseModel):
    """What a debit, hold or capture by meter was priced from: the rate card's version in
    effect at `occurred_at` for the account's plan."""

    meter: str
    quantity: int
    occurred_at: datetime
    plan: str | None = None
    rate_version: int
    effective_from: datetime
    unit_price: UnitPrice


class LedgerEntry(BaseModel):
    id: str
    seq: int = Field(description="1, 2, 3... per account, without gaps, in commit order")
    type: str
    amount: int
    balance_after: int
    grants: list[GrantPart]
    source: str
    description: str | None
    metadata: dict[str, Any]
    idempotency_key: str | None
    actor: str | None = None
    usage: MeteredUsage | None = None
    created_at: datetime


class LedgerPage(BaseModel):
    data: list[LedgerEntry]
    has_more: bool
    next_cursor: str | None


class EntryWithAccount(BaseModel):
    entry: LedgerEntry
    account: Account


class GrantVoided(BaseModel):
    grant: Grant
    entry: LedgerEntry | None
    account: Account


class GrantWithAccount(BaseModel):
    grant: Grant
    account: Account


class Reservation(BaseModel):
    id: str
    account_id: str
    amount: int
    captured: int
    status: Literal["held", "captured", "released", "expired"]
    expires_at: datetime
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    usage: MeteredUsage | None = None
    created_at: datetime


class CaptureResult(BaseModel):
    reservation: Reservation
    entry: LedgerEntry
    account: Account


SuspendedReason = Literal["past_due", "unpaid", "paused", "disputed"]
AccessReason = Literal[
    "ok", "insufficient_credits", "past_due", "unpaid", "paused", "disputed", "negative_balance"
]


class AccessDecision(BaseModel):
    allowed: bool
    reason: AccessReason
    available: int
    cost: int = 0
    usage: MeteredUsage | None = None


class BalanceAt(BaseModel):
    balance: int = Field(
        description="the balance right after the last entry created at or "
        "before `at` (0 before the first)"
    )
    at: datetime
    as_of_seq: int = Field(description="that entry's seq (0: none yet)")


class VerifyProblem(BaseModel):
    account_id: str
    invariant: str
    detail: str


class VerifyReport(BaseModel):
    ok: bool
    accounts_checked: int
    problems: list[VerifyProblem]


class RateVersionView(BaseModel):
    version: int
    effective_from: datetime
    credits: int
    per: int
    plans: dict[str, UnitPrice]
    status: Literal["current", "scheduled"]


class MeterRates(BaseModel):
    meter: str
    name: str
    unit: str
    rounding: str
    versions: list[RateVersionView]


class RateCardView(BaseModel):
    at: datetime
    data: list[MeterRates]


class ScheduledRate(BaseModel):
    rate_version: int
    effective_from: datetime
    unit_price: UnitPrice


class AccountRate(BaseModel):
    meter: str
    name: str
    unit: str
    rounding: str
    rate_version: int
    effective_from: datetime
    unit_price: UnitPrice
    scheduled: ScheduledRate | None


class AccountRates(BaseModel):
    account_id: str
    plan: str | None
    at: datetime
    data: list[AccountRate]
