"""Shapes of a batch of usage (POST /v1/usage): up to 1,000 records, each answered on its own."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.ledger.schemas import ACCOUNT_ID_PATTERN, Account, DebitCreate, LedgerEntry

MAX_RECORDS = 1000  # one request's records: about 1 MiB of JSON at most, a few hundred ms of work


class UsageRecord(DebitCreate):
    """One record: a debit of `account_id` (an amount, or a meter and quantity), under its own
    idempotency key. Validated on its own: a malformed record is answered 422 by itself."""

    account_id: Annotated[str, StringConstraints(pattern=ACCOUNT_ID_PATTERN)]
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=255)]

    def request(self) -> dict[str, Any]:
        # The same fingerprint as the debit it is: a record may be retried as a single debit
        # (POST /v1/accounts/{id}/debits with the key as Idempotency-Key), and the other way.
        body = super().request()
        del body["account_id"], body["idempotency_key"]
        return body


class UsageBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Objects of any shape here, so that a bad record is refused by itself, not the batch.
    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_RECORDS)


class UsageResult(BaseModel):
    index: int
    account_id: str | None
    idempotency_key: str | None
    status: int = Field(description="201 debited; 402, 403, 404, 409 or 422 refused")
    replayed: bool
    entry: LedgerEntry | None = None
    account: Account | None = None
    problem: dict[str, Any] | None = None


class UsageBatchResult(BaseModel):
    results: list[UsageResult]
    counts: dict[str, int]
