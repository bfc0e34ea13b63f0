"""Spending credits at once: one debit per generation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.db import Session
from app.errors import InsufficientCredits
from app.ledger.access import ensure_can_spend
from app.ledger.entries import ledger_entry
from app.ledger.expiry import touch_account
from app.ledger.repository import Doc, Repositories
from app.ledger.spending import draw, total


async def debit_credits(session: Session, repos: Repositories, account_id: str, amount: int,
                        now: datetime, *, idempotency_key: str, actor: str,
                        description: str | None = None,
                        metadata: dict[str, Any] | None = None) -> tuple[Doc, Doc]:
    account = await touch_account(session, repos, account_id, now)
    ensure_can_spend(account, amount, now)
    # The guarded $inc is the write that can be refused: it goes first.
    after = await repos.accounts.change(session, account_id, now, balance=-amount,
                                        min_available=amount)
    if after is None:
        raise InsufficientCredits(f"{amount} credits requested, fewer available")
    taken = await draw(session, repos, account_id, amount, now)
    if total(taken) != amount:
        raise RuntimeError(f"ledger invariant broken on {account_id}: grants short of balance")
    entry = ledger_entry(account_id, "debit", -amount, after["balance"], now, grants=taken,
                         idempotency_key=idempotency_key, actor=actor,
                         description=description, metadata=metadata)
    await repos.ledger.insert(session, entry)
    return entry, after
