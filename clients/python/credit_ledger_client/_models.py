"""Typed results: the service's JSON objects as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


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
        return cls(
            id=data["id"],
            balance=data["balance"],
            reserved=data["reserved"],
            available=data["available"],
            deficit=data["deficit"],
            subscription_status=data["subscription_status"],
            plan=data.get("plan"),
            current_period_end=_time(data.get("current_period_end")),
            grace_until=_time(data.get("grace_until")),
            cancel_at=_time(data.get("cancel_at")),
            suspended_reason=data.get("suspended_reason"),
            stripe_customer_id=data.get("stripe_customer_id"),
            stripe_subscription_id=data.get("stripe_subscription_id"),
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
        )


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
        return cls(
            id=data["id"],
            type=data["type"],
            amount=data["amount"],
            balance_after=data["balance_after"],
            grants=[
                GrantPart(g["grant_id"], g["amount"], g.get("kind")) for g in data.get("grants", [])
            ],
            source=data["source"],
            description=data.get("description"),
            metadata=data.get("metadata") or {},
            idempotency_key=data.get("idempotency_key"),
            created_at=datetime.fromisoformat(data["created_at"]),
            actor=data.get("actor"),
            seq=data.get("seq"),
            usage=data.get("usage"),
        )


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
        return cls(
            id=data["id"],
            kind=data["kind"],
            amount=data["amount"],
            remaining=data["remaining"],
            held=data.get("held", 0),
            expires_at=_time(data.get("expires_at")),
            source=data["source"],
            created_at=datetime.fromisoformat(data["created_at"]),
            description=data.get("description"),
        )


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
        return cls(
            id=data["id"],
            account_id=data["account_id"],
            amount=data["amount"],
            captured=data["captured"],
            status=data["status"],
            expires_at=datetime.fromisoformat(data["expires_at"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            description=data.get("description"),
            metadata=data.get("metadata") or {},
            usage=data.get("usage"),
        )


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
        return cls(
            data["allowed"],
            data["reason"],
            data["available"],
            data.get("cost", 0),
            data.get("usage"),
        )


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
        return cls(
            data["index"],
            data["status"],
            data["replayed"],
            data.get("account_id"),
            data.get("idempotency_key"),
            LedgerEntry.from_json(entry) if entry else None,
            data.get("problem"),
        )


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
        return cls(
            id=data["id"],
            type=data["type"],
            account_id=data.get("account_id"),
            account_seq=data["account_seq"],
            created_at=datetime.fromisoformat(data["created_at"]),
            data=data.get("data") or {},
        )


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
