"""How a ledger entry document is built: one shape for every type of entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from app.kit.clock import as_utc
from app.ledger.documents import AccountDoc, EntryDoc, GrantPart
from app.ledger.repository import new_id
from app.storage.documents import Doc


@dataclass(frozen=True)
class Attribution:
    """What an entry records of what wrote it: where it came from, its idempotency key, who
    asked, and what it says."""

    source: str = "api"
    idempotency_key: str | None = None
    actor: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None


def position(after: AccountDoc, later: int = 0) -> Doc:
    """An entry's place in its account's ledger, from the account after the change that
    numbered it (`AccountRepository.change(entries=...)`): `seq` 1, 2, 3... without gaps, and a
    `created_at` never before the account's previous entry (a request that took its time
    earlier may commit later). `later` counts the entries the same change numbered after it."""
    return {"seq": after["seq"] - later, "created_at": as_utc(after["last_entry_at"])}


def ledger_entry(
    account_id: str,
    type_: str,
    amount: int,
    balance_after: int,
    now: datetime,
    *,
    grants: list[GrantPart] | None = None,
    by: Attribution = Attribution(),
    **extra: Any,
) -> EntryDoc:
    entry: Doc = {
        "_id": new_id("le"),
        "account_id": account_id,
        "type": type_,
        "amount": amount,
        "balance_after": balance_after,
        "grants": grants or [],
        "source": by.source,
        "actor": by.actor,
        "description": by.description,
        "metadata": by.metadata or {},
        "created_at": now,
        **extra,  # `extra` holds the position: seq and created_at
    }
    if by.idempotency_key is not None:
        # Only set when present: the unique index is partial on string keys.
        entry["idempotency_key"] = by.idempotency_key
    return cast(EntryDoc, entry)  # the one place an entry's shape is built
