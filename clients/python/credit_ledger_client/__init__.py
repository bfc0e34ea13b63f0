"""Credit Ledger's Python client: typed results, one Idempotency-Key per logical call reused
by its retries, backoff on connection errors and 5xx, problem+json as exceptions, holds as
context managers whose keys come from the job's, lists walked page by page, and the
verification of the events the service pushes."""

from credit_ledger_client._async import AsyncCreditLedger, AsyncHold
from credit_ledger_client._async_batching import AsyncUsageBatcher
from credit_ledger_client._errors import (
    AccessSuspended,
    AccountNotFound,
    ConnectionFailed,
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
    Event,
    Grant,
    GrantPart,
    LedgerEntry,
    LedgerPage,
    Page,
    Reservation,
    UsageBatchResult,
    UsageResult,
)
from credit_ledger_client._sync import CreditLedger, Hold
from credit_ledger_client._sync_batching import UsageBatcher
from credit_ledger_client._webhooks import WebhookVerificationFailed, verify_webhook

__all__ = [
    "AccessDecision",
    "AccessSuspended",
    "Account",
    "AccountNotFound",
    "AsyncCreditLedger",
    "AsyncHold",
    "AsyncUsageBatcher",
    "CaptureResult",
    "ConnectionFailed",
    "CreditLedger",
    "CreditLedgerError",
    "EntryResult",
    "Event",
    "Forbidden",
    "Grant",
    "GrantPart",
    "Hold",
    "IdempotencyKeyReused",
    "InsufficientCredits",
    "LedgerEntry",
    "LedgerPage",
    "NegativeBalance",
    "Page",
    "PayloadTooLarge",
    "Reservation",
    "ReservationExpired",
    "ReservationNotFound",
    "ReservationNotHeld",
    "ServiceUnavailable",
    "Unauthenticated",
    "UsageBatchResult",
    "UsageBatcher",
    "UsageResult",
    "ValidationFailed",
    "WebhookVerificationFailed",
    "verify_webhook",
]
