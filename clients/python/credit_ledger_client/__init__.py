"""Credit Ledger's Python client: typed results, one Idempotency-Key per logical call reused
by its retries, backoff on connection errors and 5xx, problem+json as exceptions, and holds
as context managers."""

from credit_ledger_client._async import AsyncCreditLedger, AsyncHold
from credit_ledger_client._errors import (
    AccessSuspended,
    AccountNotFound,
    CreditLedgerError,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientCredits,
    NegativeBalance,
    PayloadTooLarge,
    ReservationExpired,
    ReservationNotFound,
    ReservationNotHeld,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from credit_ledger_client._models import (
    AccessDecision,
    Account,
    CaptureResult,
    EntryResult,
    Grant,
    GrantPart,
    LedgerEntry,
    LedgerPage,
    Reservation,
)
from credit_ledger_client._sync import CreditLedger, Hold

__all__ = [
    "AccessDecision",
    "AccessSuspended",
    "Account",
    "AccountNotFound",
    "AsyncCreditLedger",
    "AsyncHold",
    "CaptureResult",
    "CreditLedger",
    "CreditLedgerError",
    "EntryResult",
    "Forbidden",
    "Grant",
    "GrantPart",
    "Hold",
    "IdempotencyKeyReused",
    "InsufficientCredits",
    "LedgerEntry",
    "LedgerPage",
    "NegativeBalance",
    "PayloadTooLarge",
    "Reservation",
    "ReservationExpired",
    "ReservationNotFound",
    "ReservationNotHeld",
    "ServiceUnavailable",
    "Unauthenticated",
    "ValidationFailed",
]
