"""An account's own description: name, email and metadata, set by the product or an
operator, and the search terms that let the console find the account by them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.kit.errors import AccountNotFound
from app.ledger.documents import AccountDoc
from app.ledger.repository import Repositories
from app.storage.database import Session
from app.storage.documents import Doc

# Bounds the terms one account adds to the search index: a name's words and metadata pairs.
MAX_NAME_WORDS = 20


def search_terms(name: str | None, metadata: dict[str, Any]) -> list[str]:
    """Lower-case prefixes the console's search matches: the whole name, each of its
    words, and `key:value` of each metadata value (strings, integers, booleans)."""
    terms: list[str] = []
    if name:
        lowered = name.lower()
        terms += [lowered, *lowered.split()[:MAX_NAME_WORDS]]
    for key, value in metadata.items():
        if value is None:
            continue
        terms.append(f"{key.lower()}:{str(value).lower()}")
    return sorted(set(terms))


async def update_profile(
    session: Session, repos: Repositories, account_id: str, changes: Doc, now: datetime
) -> AccountDoc:
    """Set the fields in `changes` (None clears one); returns the account after. The account
    must exist: a description creates nothing."""
    account = await repos.accounts.get(session, account_id)
    if account is None:
        raise AccountNotFound(f"account {account_id!r} not found")
    fields = dict(changes)
    if fields.get("email") is not None:
        fields["email"] = fields["email"].strip().lower()
    if "metadata" in fields:
        fields["metadata"] = fields["metadata"] or {}
    merged = {**account, **fields}
    fields["search_terms"] = search_terms(merged.get("name"), merged.get("metadata") or {})
    after = await repos.accounts.set_fields(session, account_id, fields, now)
    if after is None:  # inside the transaction the account just read cannot have gone
        raise RuntimeError(f"account {account_id} changed under the unit of work")
    return after
