"""Spending credits at once: one debit per generation, or a batch's usage of one account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from app.billing.repository import rerun
from app.kit.errors import AccountNotFound, DomainError, InsufficientCredits
from app.ledger.access import available, ensure_can_spend, spend_guard, spending_figures
from app.ledger.documents import AccountDoc, EntryDoc, GrantPart
from app.ledger.entries import Attribution, ledger_entry, position
from app.ledger.expiry import ExpiryDue, is_due
from app.ledger.metering import Carried, RateCard
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


@dataclass(frozen=True)
class Spend:
    """One debit of a batch's group: credits, or usage of a meter to price."""

    key: str
    amount: int | None
    meter: str | None = None
    quantity: int | None = None
    occurred_at: datetime | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None


# Per record: the entry and the account right after it, or what refused it.
Spent = tuple[EntryDoc, Doc] | DomainError


async def debit_group(
    session: Session,
    repos: Repositories,
    rates: RateCard,
    account_id: str,
    spends: list[Spend],
    now: datetime,
    *,
    actor: str,
) -> list[Spent]:
    """Debit one account for each of `spends`, in order, in this one unit of work: each is
    priced and then refused or accepted as its own debit would be (the access rule against the
    balance the ones before it left), and the accepted ones move the account in one guarded
    write, draw from its grants in one pass and are recorded in one insert, numbered in order.
    The account is read first (the snapshot: its plan, remainders and balance); on a replica
    set a concurrent commit to it makes the write conflict and the unit re-run."""
    account = await repos.accounts.get(session, account_id)
    if account is None:
        raise AccountNotFound(f"account {account_id!r} not found")
    if is_due(account, now):
        raise ExpiryDue(account_id)
    carried = Carried.of(account)
    state: Doc = dict(account)
    outcomes: list[Spent | None] = []
    accepted: list[tuple[int, Spend, int, Doc | None]] = []  # (position, spend, credits, usage)
    for spend in spends:
        try:
            amount, usage = _priced(rates, state, carried, spend, now)
            ensure_can_spend(state, amount, now)
        except DomainError as refused:
            outcomes.append(refused)
            continue
        state["balance"] -= amount
        accepted.append((len(outcomes), spend, amount, usage))
        outcomes.append(None)
    if accepted:
        for index, entry, after in await _record(
            session, repos, account_id, account, carried, accepted, now, actor
        ):
            outcomes[index] = (entry, after)
    return [outcome for outcome in outcomes if outcome is not None]


def _priced(
    rates: RateCard, account: Doc, carried: Carried, spend: Spend, now: datetime
) -> tuple[int, Doc | None]:
    if spend.meter is None or spend.quantity is None:
        assert spend.amount is not None  # a record names an amount, or a meter and quantity
        return spend.amount, None
    priced = rates.price(account, carried, spend.meter, spend.quantity, spend.occurred_at, now)
    carried.put(spend.meter, priced.remainder)
    return priced.amount, priced.usage


async def _record(
    session: Session,
    repos: Repositories,
    account_id: str,
    before: AccountDoc,
    carried: Carried,
    accepted: list[tuple[int, Spend, int, Doc | None]],
    now: datetime,
    actor: str,
) -> list[tuple[int, EntryDoc, Doc]]:
    """The accepted debits' writes: the account, the grants, the entries."""
    spent = sum(amount for _, _, amount, _ in accepted)
    moved, read = carried.changes()
    after = await repos.accounts.change(
        session,
        account_id,
        now,
        AccountChange(
            balance=-spent,
            entries=len(accepted),
            guard={**spend_guard(spent, now), **read, "seq": before.get("seq", 0)},
            nothing_due=True,
            fields=moved,
        ),
    )
    if after is None:
        raise rerun("the account changed under the batch's unit of work")
    taken = await draw(session, repos, account_id, spent, now, grant_ids=after.get("grant_ids"))
    if total(taken) != spent:
        raise RuntimeError(f"ledger invariant broken on {account_id}: grants short of balance")
    parts = iter(_split(taken, [amount for _, _, amount, _ in accepted]))
    balance = after["balance"] + spent
    written: list[tuple[int, EntryDoc, Doc]] = []
    entries: list[EntryDoc] = []
    for number, (index, spend, amount, usage) in enumerate(accepted):
        balance -= amount
        extra: dict[str, Any] = {"usage": usage} if usage else {}
        entry = ledger_entry(
            account_id,
            "debit",
            -amount,
            balance,
            now,
            grants=next(parts),
            by=Attribution("api", spend.key, actor, spend.description, spend.metadata),
            **extra,
            **position(after, later=len(accepted) - 1 - number),
        )
        entries.append(entry)
        written.append((index, entry, {**after, "balance": balance}))
    await repos.ledger.insert_many(session, entries)
    return written


def _split(taken: list[GrantPart], amounts: list[int]) -> list[list[GrantPart]]:
    """What each debit took from each grant, in order, out of what all of them took."""
    pool: list[GrantPart] = [GrantPart(**part) for part in taken]
    parts: list[list[GrantPart]] = []
    for amount in amounts:
        mine: list[GrantPart] = []
        while amount:
            head = pool[0]
            take = min(-head["amount"], amount)
            mine.append({**head, "amount": -take})
            head["amount"] += take
            amount -= take
            if head["amount"] == 0:
                pool.pop(0)
        parts.append(mine)
    return parts
