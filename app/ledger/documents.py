"""The stored shapes of the ledger's hot collections: accounts, grants, ledger entries,
holds and idempotency records, as the repositories read and write them. A field an older
version did not write (or a rarer path writes) is NotRequired; readers use .get for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NotRequired, TypedDict


class AccountDoc(TypedDict):
    _id: str
    balance: int
    reserved: int
    deficit: int  # credits owed, paid off by the next grants
    subscription_status: str
    open_disputes: list[str]
    created_at: datetime
    updated_at: datetime
    # The standing derived from `subscriptions` (see app/billing/standing.py).
    plan: NotRequired[str | None]
    current_period_start: NotRequired[datetime | None]
    current_period_end: NotRequired[datetime | None]
    grace_until: NotRequired[datetime | None]
    cancel_at: NotRequired[datetime | None]
    stripe_customer_id: NotRequired[str | None]
    stripe_subscription_id: NotRequired[str | None]
    subscriptions: NotRequired[dict[str, dict[str, Any]]]
    allocation: NotRequired[dict[str, Any]]
    # The hot paths' own bookkeeping (absent on accounts written before it existed).
    next_due_at: NotRequired[datetime]
    seq: NotRequired[int]
    last_entry_at: NotRequired[datetime]
    grant_ids: NotRequired[list[str]]
    holds: NotRequired[int]
    last_stripe_event: NotRequired[str]
    # Usage by meter: per meter ("." as "~"), the fraction of a credit carried, {n, d}.
    meter_remainders: NotRequired[dict[str, dict[str, int]]]
    # The profile (PATCH /v1/accounts/{id}) and what the search matches.
    name: NotRequired[str | None]
    email: NotRequired[str | None]
    metadata: NotRequired[dict[str, Any]]
    search_terms: NotRequired[list[str]]
    # Balance alerts.
    low_balance_threshold_set: NotRequired[bool]
    low_balance_threshold: NotRequired[int | None]
    low_fired: NotRequired[bool]
    depleted_fired: NotRequired[bool]
    # Auto top-up: the settings and their state (`round`, `failures`, `cap_reached_month`).
    auto_topup: NotRequired[dict[str, Any]]


class GrantDoc(TypedDict):
    _id: str
    account_id: str
    kind: str
    amount: int
    remaining: int  # free credits
    held: int  # set aside by holds
    deficit_paid: int
    expires_at: datetime | None
    never_expires: bool
    expired: bool
    source: str
    idempotency_key: str | None
    description: str | None
    created_at: datetime
    # A subscription period's grant.
    period_start: NotRequired[datetime | None]
    period_end: NotRequired[datetime | None]
    subscription_id: NotRequired[str | None]
    # Expired (or voided): what it still had.
    expired_at: NotRequired[datetime]
    expired_amount: NotRequired[int]
    voided_at: NotRequired[datetime]
    voided_by: NotRequired[str]
    void_reason: NotRequired[str]
    expiry_noticed_at: NotRequired[datetime | None]
    expiry_changes: NotRequired[list[dict[str, Any]]]


class GrantPart(TypedDict):
    """One grant's share of an entry or a hold."""

    grant_id: str
    kind: str
    amount: int


class EntryDoc(TypedDict):
    _id: str
    account_id: str
    type: str  # grant, debit, capture, expiry, clawback, adjustment
    amount: int
    balance_after: int
    grants: list[GrantPart]
    source: str
    actor: str | None
    description: str | None
    metadata: dict[str, Any]
    created_at: datetime
    seq: NotRequired[int]  # absent on entries written before the ledger was numbered
    idempotency_key: NotRequired[str]  # only when set: the unique index is partial
    deficit_paid: NotRequired[int]  # a grant's credits that paid off a deficit
    deficit_added: NotRequired[int]  # a take-back's credits the account now owes
    reservation_id: NotRequired[str]  # a capture's hold
    usage: NotRequired[dict[str, Any]]  # a debit or capture by meter: what priced it


class ReservationDoc(TypedDict):
    _id: str
    account_id: str
    amount: int
    captured: int
    status: str  # held, captured, released, expired
    grants: list[GrantPart]
    expires_at: datetime
    idempotency_key: str
    actor: str
    description: str | None
    metadata: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    # The answer to a retry of the request that resolved it.
    fingerprint: NotRequired[str]
    replay: NotRequired[dict[str, Any]]
    usage: NotRequired[dict[str, Any]]  # a hold by meter: what priced it


class IdempotencyDoc(TypedDict):
    _id: str  # "<account_id> <key>"
    account_id: str
    key: str
    fingerprint: str
    created_at: datetime
    status: NotRequired[int]  # the answer, until IDEMPOTENCY_ANSWER_RETENTION_DAYS
    body: NotRequired[dict[str, Any]]
    answer_dropped_at: NotRequired[datetime]
