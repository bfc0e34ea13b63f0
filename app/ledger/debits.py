"""Spending credits at once: one debit per generation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from app.billing.repository import rerun
from app.kit.errors import AccountNotFound, InsufficientCredits
from app.ledger.access import available, ensure_can_spend, spend_guard, spending_figures
from app.ledger.documents import AccountDoc, EntryDoc
from app.ledger.entries import Attribution, ledger_entry, position
from app.ledger.expiry import ExpiryDue, is_due
from app.ledger.repository import AccountChange, Repositories
from app.ledger.spending import draw, total
from app.storage.database import Session
from app.storage.documents import Doc


async def debit_credits(
    session: Session,
    repos: Repositories,
    account_id: str,
    amount: int,
    now: datetime,
    *,
    by: Attribution,
    usage: Doc | None = None,
    remainders: tuple[Doc, Doc] | None = None,
) -> tuple[EntryDoc, AccountDoc]:
    """Spend `amount` now. The guarded change of the (contended) account is this unit's first
    statement; it also refuses when something on the account is due (expired first, in a
    transaction of its own, and the unit runs again). Usage priced by meter (`usage`, see
    metering.py) also moves the account's remainders: (their $set, their values as read),
    the second a clause of the same guarded write."""
    moved, read = remainders or ({}, {})
    after = await repos.accounts.change(
        session,
        account_id,
        now,
        AccountChange(
            balance=-amount,
            entries=1,
            guard={**spend_guard(amount, now), **read},
            nothing_due=True,
            fields=moved,
        ),
    )
    if after is None:
        if read:
            # The refusal is the access rule's, or the remainders moved since they were read
            # (not inside a transaction's snapshot): then the unit runs again on fresh reads.
            await explain_refusal(session, repos, account_id, amount, now)
            raise rerun("the account's meter remainders moved under the unit of work")
        await refuse_spending(session, repos, account_id, amount, now)
    taken = await draw(session, repos, account_id, amount, now, grant_ids=after.get("grant_ids"))
    if total(taken) != amount:
        raise RuntimeError(f"ledger invariant broken on {account_id}: grants short of balance")
    extra: dict[str, Any] = {"usage": usage} if usage else {}
    entry = ledger_entry(
        account_id,
        "debit",
        -amount,
        after["balance"],
        now,
        grants=taken,
        by=by,
        **extra,
        **position(after),
    )
    await repos.ledger.insert(session, entry)
    return entry, after


async def refuse_spending(
    session: Session, repos: Repositories, account_id: str, amount: int, now: datetime
) -> NoReturn:
    """The spend guard refused: say why, as the access decision would."""
    account = await explain_refusal(session, repos, account_id, amount, now)
    raise InsufficientCredits(
        f"{amount} credits requested, {max(available(account), 0)} available",
        **spending_figures(account, amount),
    )


async def explain_refusal(
    session: Session, repos: Repositories, account_id: str, amount: int, now: datetime
) -> AccountDoc:
    """Raise what the access decision says of a refused spend; return the account when it
    says nothing (the guard had a clause of the caller's own, which the caller explains)."""
    account = await repos.accounts.get(session, account_id)
    if account is None:
        raise AccountNotFound(f"account {account_id!r} not found")
    if is_due(account, now):
        raise ExpiryDue(account_id)
    ensure_can_spend(account, amount, now)
    return account
