"""One unit of work of a usage batch: the records of several accounts debited together with a
constant number of collection calls (docs/design.md, "Usage in batches"), each record decided
in memory in arrival order as its own debit would be, on the account as the records before it
left it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.kit.clock import as_utc
from app.kit.errors import AccountNotFound, DomainError
from app.ledger.access import ensure_can_spend
from app.ledger.documents import AccountDoc, EntryDoc, GrantDoc, GrantPart
from app.ledger.entries import Attribution, ledger_entry
from app.ledger.expiry import ExpiryDue, is_due
from app.ledger.metering import REMAINDERS, Carried, RateCard
from app.ledger.outbox import Fact
from app.ledger.repository import AccountChange, Repositories
from app.ledger.spending import part, takes_from
from app.storage.database import Session
from app.storage.documents import Doc


@dataclass(frozen=True)
class Usage:
    """One record of a batch: a debit of its account, of credits or of a meter's units."""

    key: str
    amount: int | None
    meter: str | None = None
    quantity: int | None = None
    occurred_at: datetime | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None


# Per record: the entry and the account right after it, or what refused it.
Spent = tuple[EntryDoc, Doc] | DomainError


@dataclass
class _Debit:
    position: int  # among the account's records
    usage: Usage
    amount: int
    metered: Doc | None  # what the entry records of a usage by meter


@dataclass
class _Account:
    """One account's records as the unit decides them: the account as read, its balance and
    remainders as the accepted records leave them, and the outcomes."""

    before: AccountDoc
    carried: Carried
    balance: int
    outcomes: list[Spent | None] = field(default_factory=list)
    accepted: list[_Debit] = field(default_factory=list)

    @property
    def spent(self) -> int:
        return sum(d.amount for d in self.accepted)


async def debit_accounts(
    session: Session,
    repos: Repositories,
    rates: RateCard,
    usages: dict[str, list[Usage]],
    now: datetime,
    *,
    actor: str,
) -> dict[str, list[Spent]]:
    """Debit each account for each of its usages, in order, in this unit of work; each is
    priced, then refused or accepted as its own debit would be (the access rule on the balance
    the ones before it left). Whatever the number of accounts and records: one read of the
    accounts, one of the grants they spend from, one guarded write of the accounts, one of the
    grants, one insert of the entries. On a replica set a concurrent commit to one of the
    accounts makes the write conflict, and the unit re-runs on fresh reads."""
    found = await repos.accounts.get_many(session, list(usages))
    if due := [a for a in found.values() if is_due(a, now)]:
        raise ExpiryDue(*(a["_id"] for a in due))
    outcomes: dict[str, list[Spent]] = {}
    spending: dict[str, _Account] = {}
    for account_id, records in usages.items():
        account = found.get(account_id)
        if account is None:
            missing = AccountNotFound(f"account {account_id!r} not found")
            outcomes[account_id] = [missing] * len(records)
            continue
        decided = _decide(rates, account, records, now)
        if decided.accepted:
            spending[account_id] = decided
        else:
            outcomes[account_id] = [o for o in decided.outcomes if o is not None]
    if spending:
        await _record(session, repos, spending, now, actor)
        for account_id, decided in spending.items():
            outcomes[account_id] = [o for o in decided.outcomes if o is not None]
    return outcomes


def _decide(rates: RateCard, account: AccountDoc, usages: list[Usage], now: datetime) -> _Account:
    decided = _Account(before=account, carried=Carried.of(account), balance=account["balance"])
    state: Doc = dict(account)
    for usage in usages:
        try:
            amount, metered = _priced(rates, state, decided.carried, usage, now)
            ensure_can_spend(state, amount, now)
        except DomainError as refused:
            decided.outcomes.append(refused)
            continue
        state["balance"] -= amount
        decided.accepted.append(_Debit(len(decided.outcomes), usage, amount, metered))
        decided.outcomes.append(None)
    decided.balance = state["balance"]
    return decided


def _priced(
    rates: RateCard, account: Doc, carried: Carried, usage: Usage, now: datetime
) -> tuple[int, Doc | None]:
    if usage.meter is None or usage.quantity is None:
        assert usage.amount is not None  # a record names an amount, or a meter and quantity
        return usage.amount, None
    priced = rates.price(account, carried, usage.meter, usage.quantity, usage.occurred_at, now)
    carried.put(usage.meter, priced.remainder)
    return priced.amount, priced.usage


async def _record(
    session: Session,
    repos: Repositories,
    spending: dict[str, _Account],
    now: datetime,
    actor: str,
) -> None:
    """The accepted debits' writes, one call each for all the accounts: the accounts, the
    grants, the entries. The outcomes get each entry and the account right after it."""
    grants = await repos.grants.spendable_of(
        session, {a: d.before["grant_ids"] for a, d in spending.items()}, now
    )
    changes: list[tuple[str, AccountChange]] = []
    takes: list[tuple[str, str, int]] = []
    entries: list[EntryDoc] = []
    for account_id, decided in spending.items():
        drawn = _draw(account_id, grants.get(account_id, []), decided.spent)
        remainders = decided.carried.changes()
        after = _after(decided, drawn.used_up, remainders[0], now)
        changes.append((account_id, _change(decided, drawn.used_up, remainders)))
        takes += [(account_id, grant_id, taken) for grant_id, taken in drawn.taken.items()]
        entries += _entries(account_id, decided, drawn.parts, after, now, actor)
        # The account's move, as a change notes it (the outgoing events' thresholds).
        repos.db.note(session, Fact("balance", account_id, after, dict(decided.before)))
    await repos.accounts.change_many(session, now, changes)
    await repos.grants.take_many(session, takes)
    await repos.ledger.insert_many(session, entries)


def _change(decided: _Account, used_up: list[str], remainders: tuple[Doc, Doc]) -> AccountChange:
    """The account's one write: its debits summed, guarded by what the unit read of it (inside
    a transaction it cannot have changed; without one, the unit re-runs)."""
    before = decided.before
    moved, remainders_read = remainders
    as_read = {k: before[k] for k in ("seq", "balance", "reserved", "holds")}
    return AccountChange(
        balance=-decided.spent,
        entries=len(decided.accepted),
        guard={**as_read, **remainders_read},
        nothing_due=True,
        fields=moved,
        noted=False,
        forget=tuple(used_up),
    )


def _after(decided: _Account, used_up: list[str], moved: Doc, now: datetime) -> Doc:
    """The account as its write leaves it (what `account_write` does to the document read)."""
    before = decided.before
    last = before.get("last_entry_at")
    after: Doc = dict(before)
    after.update(
        balance=decided.balance,
        seq=before["seq"] + len(decided.accepted),
        updated_at=now,
        last_entry_at=max(as_utc(last), now) if last is not None else now,
        grant_ids=[g for g in before["grant_ids"] if g not in used_up],
    )
    if moved:
        carried = {k.removeprefix(f"{REMAINDERS}."): v for k, v in moved.items()}
        after[REMAINDERS] = {**after.get(REMAINDERS, {}), **carried}
    return after


@dataclass
class _Drawn:
    taken: dict[str, int]  # grant -> credits taken from it
    parts: list[GrantPart]  # in spending order
    used_up: list[str]  # grants left with nothing free and nothing held


def _draw(account_id: str, grants: list[GrantDoc], amount: int) -> _Drawn:
    """`amount` free credits from the account's grants in spending order (as spending.draw)."""
    takes, left = takes_from(grants, amount)
    if left:
        raise RuntimeError(f"ledger invariant broken on {account_id}: grants short of balance")
    drawn = _Drawn({}, [], [])
    for grant, take in takes:
        drawn.taken[grant["_id"]] = take
        drawn.parts.append(part(grant, take))
        if take == grant["remaining"] and not grant["held"]:
            drawn.used_up.append(grant["_id"])
    return drawn


def _entries(
    account_id: str,
    decided: _Account,
    parts: list[GrantPart],
    after: Doc,
    now: datetime,
    actor: str,
) -> list[EntryDoc]:
    """The accepted debits' entries, numbered after the account's last one, each with its
    balance after it and its share of the grants; each record's outcome."""
    pool: list[GrantPart] = [GrantPart(**part) for part in parts]
    balance, seq = decided.before["balance"], decided.before["seq"]
    entries = []
    for debit in decided.accepted:
        balance -= debit.amount
        seq += 1
        usage = debit.usage
        extra: dict[str, Any] = {"usage": debit.metered} if debit.metered else {}
        entry = ledger_entry(
            account_id,
            "debit",
            -debit.amount,
            balance,
            now,
            grants=_share(pool, debit.amount),
            by=Attribution("api", usage.key, actor, usage.description, usage.metadata),
            **extra,
            seq=seq,
            created_at=after["last_entry_at"],
        )
        entries.append(entry)
        decided.outcomes[debit.position] = (entry, {**after, "balance": balance})
    return entries


def _share(pool: list[GrantPart], amount: int) -> list[GrantPart]:
    """What one debit takes of the grants, in order, out of what all of them took."""
    mine: list[GrantPart] = []
    while amount:
        head = pool[0]
        take = min(-head["amount"], amount)
        mine.append({**head, "amount": -take})
        head["amount"] += take
        amount -= take
        if head["amount"] == 0:
            pool.pop(0)
    return mine
