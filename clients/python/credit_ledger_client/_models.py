"""Typed results: the service's JSON objects as frozen dataclasses."""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from types import NoneType, UnionType
from typing import Any, Generic, TypeVar

T = TypeVar("T")
M = TypeVar("M")


_READERS: dict[type, list[tuple[str, Any, Callable[[], Any] | None]]] = {}


def _readers(cls: type) -> list[tuple[str, Any, Callable[[], Any] | None]]:
    """Each field of dataclass `cls`: its name, how its JSON value reads (None: as it is), and
    what makes its value when the JSON has none (None: the field is required)."""
    if cls in _READERS:
        return _READERS[cls]
    hints = typing.get_type_hints(cls)
    out: list[tuple[str, Any, Callable[[], Any] | None]] = []
    for f in fields(cls):
        hint = hints[f.name]
        kinds = typing.get_args(hint) if isinstance(hint, UnionType) else (hint,)
        read = datetime.fromisoformat if datetime in kinds else None
        absent: Callable[[], Any] | None
        if f.default_factory is not MISSING:
            absent = f.default_factory
        elif f.default is not MISSING:
            absent = lambda default=f.default: default  # noqa: E731
        elif typing.get_origin(hint) is dict:
            absent = dict  # an absent or null mapping reads as an empty one
        elif NoneType in kinds:
            absent = NoneType
        else:
            absent = None
        out.append((f.name, read, absent))
    _READERS[cls] = out
    return out


def _from_json(cls: type[M], data: dict[str, Any], **given: Any) -> M:
    """`cls` (a dataclass) from the service's JSON object, field by field: times parsed, an
    absent or null optional field its default; `given` for the fields read otherwise."""
    values = dict(given)
    for name, read, absent in _readers(cls):
        if name in given:
            continue
        value = data[name] if absent is None else data.get(name)
        if value is None and absent is not None:
            values[name] = absent()
        else:
            values[name] = read(value) if read is not None else value
    return cls(**values)


@dataclass(frozen=True)
class Account:
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
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Account:
        return _from_json(cls, data)


@dataclass(frozen=True)
class GrantPart:
    grant_id: str
    amount: int
    kind: str | None = None


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    type: str
    amount: int
    balance_after: int
    grants: list[GrantPart]
    source: str
    description: str | None
    metadata: dict[str, Any]
    idempotency_key: str | None
    created_at: datetime
    actor: str | None = None
    seq: int | None = None  # 1, 2, 3 ... per account, in commit order
    # usage by meter: {meter, quantity, occurred_at, plan, rate_version, unit_price, ...}
    usage: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerEntry:
        parts = data.get("grants", [])
        grants = [GrantPart(g["grant_id"], g["amount"], g.get("kind")) for g in parts]
        return _from_json(cls, data, grants=grants)


@dataclass(frozen=True)
class Grant:
    id: str
    kind: str
    amount: int
    remaining: int
    held: int
    expires_at: datetime | None
    source: str
    created_at: datetime
    description: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Grant:
        return _from_json(cls, data, held=data.get("held", 0))


@dataclass(frozen=True)
class Reservation:
    id: str
    account_id: str
    amount: int
    captured: int
    status: str  # held, captured, released or expired
    expires_at: datetime
    created_at: datetime
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] | None = None  # a hold by meter: what it was priced from

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reservation:
        return _from_json(cls, data)


@dataclass(frozen=True)
class EntryResult:
    """A debit, grant or adjustment: the entry it wrote and the account after it."""

    entry: LedgerEntry
    account: Account
    replayed: bool = False  # the service answered a retry with the first answer

    @classmethod
    def from_json(cls, data: dict[str, Any], replayed: bool = False) -> EntryResult:
        return cls(
            LedgerEntry.from_json(data["entry"]), Account.from_json(data["account"]), replayed
        )


@dataclass(frozen=True)
class CaptureResult:
    reservation: Reservation
    entry: LedgerEntry
    account: Account
    replayed: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any], replayed: bool = False) -> CaptureResult:
        return cls(
            Reservation.from_json(data["reservation"]),
            LedgerEntry.from_json(data["entry"]),
            Account.from_json(data["account"]),
            replayed,
        )


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str
    available: int
    cost: int = 0  # the credits asked about, or what the meter's quantity would cost now
    usage: dict[str, Any] | None = None  # with a meter: how the cost was priced

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccessDecision:
        return _from_json(cls, data)


@dataclass(frozen=True)
class UsageResult:
    """One record of a batch: status 201 with its entry (replayed: the first answer again),
    or the refusal (402, 403, 404, 409, 422) as `problem`."""

    index: int
    status: int
    replayed: bool
    account_id: str | None
    idempotency_key: str | None
    entry: LedgerEntry | None = None
    problem: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == 201

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UsageResult:
        entry = data.get("entry")
        return _from_json(cls, data, entry=LedgerEntry.from_json(entry) if entry else None)


@dataclass(frozen=True)
class UsageBatchResult:
    results: list[UsageResult]
    counts: dict[str, int]

    @classmethod
    def from_json(cls, data: dict[str, Any], replayed: bool = False) -> UsageBatchResult:
        return cls([UsageResult.from_json(r) for r in data["results"]], data["counts"])


@dataclass(frozen=True)
class Event:
    """An event the service records (and pushes to webhook endpoints)."""

    id: str
    type: str
    account_id: str | None
    account_seq: int
    created_at: datetime
    data: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return _from_json(cls, data)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; `iter_*` methods walk every page for you."""

    data: list[T]
    has_more: bool
    next_cursor: str | None


@dataclass(frozen=True)
class LedgerPage(Page[LedgerEntry]):
    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerPage:
        return cls(
            [LedgerEntry.from_json(e) for e in data["data"]],
            data["has_more"],
            data.get("next_cursor"),
        )
