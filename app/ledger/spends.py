"""Debits and holds of one account applied together in one unit of work (group commit,
docs/design.md): `apply_one` decides, writes and answers each request in arrival order, on the
account as the requests before it left it; the account is written once, with the summed
change, guarded, and every other write is one call for the whole batch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from pymongo.errors import OperationFailure

from app.kit.clock import as_utc
from app.kit.errors import AccountNotFound, DomainError, TooManyReservations
from app.ledger.access import ensure_can_spend, spend_guard
from app.ledger.documents import EntryDoc, GrantDoc, GrantPart, ReservationDoc
from app.ledger.entries import Attribution, ledger_entry
from app.ledger.expiry import ExpiryDue, is_due
from app.ledger.idempotency import Outcome
from app.ledger.outbox import Fact
from app.ledger.repository import AccountChange, Doc, Repositories, new_id
from app.ledger.spending import part, takes_from
from app.ledger.views import account_json, entry_json, reservation_view
from app.storage.database import Session

Result = Outcome | DomainError  # a request's answer, or its refusal (the others go on)


@dataclass(frozen=True)
class Spend:
    """One debit or hold, with all its answer and its idempotency record need."""

    kind: Literal["debit", "hold"]
    account_id: str
    amount: int
    now: datetime  # taken when the request arrived, before its key was looked up
    key: str
    fingerprint: str
    actor: str
    description: str | None = None
    metadata: dict[str, Any] | None = None
    ttl_seconds: int = 0  # holds

    @property
    def expires_at(self) -> datetime:
        return self.now + timedelta(seconds=self.ttl_seconds)


@dataclass
class Batch:
    """The account as the requests applied so far left it, the grants' free credits as they
    left them, and the documents gathered for the unit's calls."""

    account: Doc
    grants: list[GrantDoc]  # spendable, in spending order (copies: moved in memory)
    entry_time: datetime  # every entry's created_at: the account's $max of it
    max_held: int
    entries: list[EntryDoc] = field(default_factory=list)
    reservations: list[ReservationDoc] = field(default_factory=list)
    records: list[tuple[str, Doc]] = field(default_factory=list)  # (key, record), in order
    takes: dict[str, list[int]] = field(default_factory=dict)  # grant -> [taken, of it held]
    facts: list[Fact] = field(default_factory=list)  # for the unit of work, in order
    debited: set[str] = field(default_factory=set)  # grants a debit took from

    def draw(self, spend: Spend) -> list[GrantPart]:
        """Free credits in spending order, as `draw` (spending.py) takes them."""
        hold = spend.kind == "hold"
        takes, left = takes_from(self.grants, spend.amount)
        if left:
            raise RuntimeError(f"ledger invariant broken on {spend.account_id}: grants short")
        for grant, take in takes:
            grant["remaining"] -= take
            grant["held"] += take if hold else 0
            parts = self.takes.setdefault(grant["_id"], [0, 0])
            parts[0] += take
            parts[1] += take if hold else 0
            if not hold:
                self.debited.add(grant["_id"])
        return [part(grant, take) for grant, take in takes]

    def used_up(self) -> list[str]:
        """Grants a debit left with nothing free and nothing held: off the account's list."""
        return [
            g["_id"]
            for g in self.grants
            if g["_id"] in self.debited and g["remaining"] == 0 and g["held"] == 0
        ]


def refusal_of(account: Doc, spend: Spend, max_held: int) -> DomainError | None:
    """What a request alone would be refused with on `account` (its guarded write's clauses,
    explained as its refusal explains them), or None."""
    try:
        ensure_can_spend(account, spend.amount, spend.now)
    except DomainError as refused:
        return refused
    if spend.kind == "hold" and account["holds"] >= max_held:
        return TooManyReservations(
            f"account {spend.account_id} already has {account['holds']} live holds "
            "(MAX_HELD_RESERVATIONS); capture or release some first",
            held_reservations=account["holds"],
            max_held_reservations=max_held,
        )
    return None


def apply_one(batch: Batch, spend: Spend) -> Result:
    """One request, as it would run alone after those before it: its refusal, or its entry
    (a debit) or hold, its answer and its idempotency record."""
    before = batch.account
    refused = refusal_of(before, spend, batch.max_held)
    if refused is not None:
        return refused
    allocations = batch.draw(spend)
    after = {**before, "updated_at": spend.now}
    if spend.kind == "debit":
        after.update(
            balance=before["balance"] - spend.amount,
            seq=before["seq"] + 1,
            last_entry_at=batch.entry_time,
        )
        entry = ledger_entry(
            spend.account_id,
            "debit",
            -spend.amount,
            after["balance"],
            spend.now,
            grants=allocations,
            by=Attribution(
                idempotency_key=spend.key,
                actor=spend.actor,
                description=spend.description,
                metadata=spend.metadata,
            ),
            seq=after["seq"],
            created_at=batch.entry_time,
        )
        batch.entries.append(entry)
        # schemas.EntryWithAccount as JSON, without building the models (views.py)
        body = {"entry": entry_json(entry), "account": account_json(after, spend.now)}
    else:
        after.update(reserved=before["reserved"] + spend.amount, holds=before["holds"] + 1)
        reservation = new_reservation(spend, allocations)
        batch.reservations.append(reservation)
        body = reservation_view(reservation).model_dump(mode="json")
    batch.facts.append(Fact("balance", spend.account_id, after, before))  # as a change notes it
    batch.account = after
    record = {
        "fingerprint": spend.fingerprint,
        "status": 201,
        "body": body,
        "created_at": spend.now,
    }
    batch.records.append((spend.key, record))
    return Outcome(201, body, replayed=False)


def new_reservation(spend: Spend, allocations: list[GrantPart]) -> ReservationDoc:
    return {
        "_id": new_id("rsv"),
        "account_id": spend.account_id,
        "amount": spend.amount,
        "captured": 0,
        "status": "held",
        "grants": allocations,
        "expires_at": spend.expires_at,
        "idempotency_key": spend.key,
        "actor": spend.actor,
        "description": spend.description,
        "metadata": spend.metadata or {},
        "created_at": spend.now,
        "resolved_at": None,
    }


def summed(spends: list[Spend]) -> Doc:
    """The account change of `spends` together (all accepted)."""
    debits = [s for s in spends if s.kind == "debit"]
    holds = [s for s in spends if s.kind == "hold"]
    return {
        "balance": -sum(s.amount for s in debits),
        "reserved": sum(s.amount for s in holds),
        "holds": len(holds),
        "entries": len(debits),
        "due_by": min((s.expires_at for s in holds), default=None),
    }


async def apply_spends(
    session: Session, repos: Repositories, spends: list[Spend], *, max_held: int
) -> list[Result]:
    """The unit of work of a batch (one request or many): each request's answer or refusal,
    in order. First statement: the guarded account write of them all, which holds when none is
    refused (the common case: the calls of one request alone); when it refuses, the account
    is read and each request decided in order, then written with what was accepted."""
    account_id = spends[0].account_id
    now = max(s.now for s in spends)
    change = summed(spends)
    guard = spend_guard(sum(s.amount for s in spends), now)
    if change["holds"]:
        guard["holds"] = {"$lte": max_held - change["holds"]}
    after = await repos.accounts.change(
        session,
        account_id,
        now,
        AccountChange(**change, guard=guard, nothing_due=True, noted=False),
    )
    if after is not None:
        before = {
            **after,
            "balance": after["balance"] - change["balance"],
            "reserved": after["reserved"] - change["reserved"],
            "holds": after["holds"] - change["holds"],
            "seq": after["seq"] - change["entries"],
        }
        entry_time = as_utc(after.get("last_entry_at") or now)
        batch = await _batch(session, repos, before, entry_time, max_held, now)
        results = [apply_one(batch, spend) for spend in spends]
        if any(isinstance(r, DomainError) for r in results):
            raise RuntimeError(f"group commit on {account_id}: refused past its summed guard")
    else:
        account = await repos.accounts.get(session, account_id)
        if account is None:
            return [AccountNotFound(f"account {account_id!r} not found") for _ in spends]
        if is_due(account, now):
            raise ExpiryDue(account_id)
        last = account.get("last_entry_at")
        entry_time = max(as_utc(last), now) if last is not None else now
        batch = await _batch(session, repos, account, entry_time, max_held, now)
        results = [apply_one(batch, spend) for spend in spends]
        accepted = [s for s, r in zip(spends, results, strict=True) if isinstance(r, Outcome)]
        if not accepted:
            return results
        as_read = {k: account[k] for k in ("seq", "balance", "reserved", "holds")}
        after = await repos.accounts.change(
            session, account_id, now, AccountChange(**summed(accepted), guard=as_read, noted=False)
        )
        if after is None:  # only without a real transaction's snapshot
            raise OperationFailure(
                "the account moved under the unit of work",
                code=112,
                details={"errorLabels": ["TransientTransactionError"]},
            )
    await _write(session, repos, account_id, batch)
    return results


async def _batch(
    session: Session,
    repos: Repositories,
    account: Mapping[str, Any],
    entry_time: datetime,
    max_held: int,
    now: datetime,
) -> Batch:
    grants = await repos.grants.spendable(
        session, account["_id"], now, grant_ids=account.get("grant_ids")
    )
    return Batch(cast(Doc, account), grants, entry_time, max_held)


async def _write(session: Session, repos: Repositories, account_id: str, batch: Batch) -> None:
    """Every write of the batch but the account's: one call each, whatever the batch's size."""
    for fact in batch.facts:  # each request's balance move, before the entries it wrote
        repos.db.note(session, fact)
    await repos.grants.take_parts(
        session,
        account_id,
        [(grant_id, taken, held) for grant_id, (taken, held) in batch.takes.items()],
    )
    if used_up := batch.used_up():
        await repos.accounts.forget_grants(session, account_id, used_up)
    if batch.entries:
        await repos.ledger.insert_many(session, batch.entries)
    if batch.reservations:
        await repos.reservations.insert_many(session, batch.reservations)
    # Last, as a request alone writes it: a key committed meanwhile undoes the whole unit.
    await repos.idempotency.insert_many(session, account_id, batch.records)
