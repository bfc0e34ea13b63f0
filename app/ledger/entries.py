"""How a ledger entry document is built: one shape for every type of entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.ledger.repository import Doc, new_id


def ledger_entry(account_id: str, type_: str, amount: int, balance_after: int, now: datetime,
                 *, grants: list[Doc] | None = None, source: str = "api",
                 idempotency_key: str | None = None, actor: str | None = None,
                 description: str | None = None, metadata: dict[str, Any] | None = None,
                 **extra: Any) -> Doc:
    entry = {
        "_id": new_id("le"), "account_id": account_id, "type": type_, "amount": amount,
        "balance_after": balance_after, "grants": grants or [], "source": source,
        "actor": actor, "description": description, "metadata": metadata or {},
        "created_at": now, **extra,
    }
    if idempotency_key is not None:
        # Only set when present: the unique index is partial on string keys.
        entry["idempotency_key"] = idempotency_key
    return entry
