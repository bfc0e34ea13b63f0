"""What the ledger tells others: each change it makes is noted as a fact of its unit of work (by
its session); listeners (the outgoing events) turn the facts into events inside the same
transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from app.storage.database import Database, Session
from app.storage.documents import Doc

FactKind = Literal["entry", "balance", "account", "reservation", "event"]


@dataclass(frozen=True)
class Fact:
    # entry inserted | available moved | account fields set | hold expired | an event decided
    # by its writer (auto top-up)
    kind: FactKind
    account_id: str
    doc: Doc  # the entry, the account after, the reservation after, {type, data}
    before: Doc | None = None  # the account before (kinds "balance" and "account")

    @property
    def account_before(self) -> Doc:
        """The account before the change; only kinds "balance" and "account" carry it."""
        if self.before is None:
            raise ValueError(f"a {self.kind!r} fact carries no account before it")
        return self.before


def record_outbox(
    db: Database,
    session: Session,
    kind: FactKind,
    account_id: str,
    doc: Mapping[str, Any],
    before: Doc | None = None,
) -> None:
    """The one hook of the ledger's writes: note what happened on the unit of work running on
    `session`, for the outbox listeners."""
    db.note(session, Fact(kind, account_id, cast(Doc, doc), before))  # the very document
