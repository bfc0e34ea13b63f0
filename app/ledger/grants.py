"""Adding credits (grants, positive corrections) and taking them back (clawbacks, negative
corrections), with deficits paid off by the next grants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from app.ledger.documents import AccountDoc, EntryDoc, GrantDoc
from app.ledger.entries import Attribution, ledger_entry, position
from app.ledger.expiry import expire_due, is_due
from app.ledger.repository import AccountChange, Repositories, known, new_id
from app.ledger.spending import draw
from app.storage.database import Session
from app.storage.documents import Doc

GRANT_KINDS = (
    "subscription",
    "rollover",
    "trial",
    "purchase",
    "bonus",
    "promotional",
    "compensation",
    "correction",
)


@dataclass(frozen=True)
class NewGrant:
    """What a grant adds: how many credits of which kind to which account, until when, and
    what its ledger entry says of it."""

    account_id: str
    amount: int
    kind: str  # one of GRANT_KINDS
    expires_at: datetime | None = None  # None: never
    by: Attribution = Attribution()
    entry_type: str = "grant"  # or "adjustment" for a positive correction
    grant_fields: dict[str, Any] | None = None  # a period's: period_start, period_end, ...
    # The key is an API request's, whose idempotency record this unit writes: no entry can
    # hold it yet (Stripe's keys have prefixes of their own), so it is not looked up.
    request_key: bool = False


async def grant_credits(
    session: Session, repos: Repositories, grant: NewGrant, now: datetime
) -> tuple[EntryDoc, AccountDoc] | None:
    """Add a grant and its ledger entry; the account is created if new. The first credits go
    to paying off a deficit. Returns (entry, account after), or None when `idempotency_key`
    was already used on this account (the grant exists: nothing is done twice). With
    `request_key` the key is an API request's, whose idempotency record this unit writes: no
    entry can hold it yet (Stripe's keys have prefixes of their own), so it is not looked up."""
    if grant.amount <= 0:
        raise ValueError("a grant adds a positive amount")
    if grant.kind not in GRANT_KINDS:
        raise ValueError(f"unknown grant kind {grant.kind!r}")
    account = await repos.accounts.ensure(session, grant.account_id, now)
    if is_due(account, now):  # the grant's entry comes after what was due
        await expire_due(session, repos, grant.account_id, now, look=True)
        account = known(await repos.accounts.get(session, grant.account_id), grant.account_id)
    key = grant.by.idempotency_key
    if (
        key is not None
        and not grant.request_key
        and await repos.ledger.by_key(session, grant.account_id, key)
    ):
        return None
    payoff = min(account["deficit"], grant.amount)
    grant_id = new_id("gr")
    # The account change numbers the entry; a duplicate (account, key) insert after it aborts
    # the whole unit, as every unit of work is undone when it fails.
    after = known(
        await repos.accounts.change(
            session,
            grant.account_id,
            now,
            AccountChange(
                balance=grant.amount,
                deficit=-payoff,
                due_by=grant.expires_at,
                entries=1,
                new_grant=grant_id,
            ),
        ),
        grant.account_id,
    )
    entry = ledger_entry(
        grant.account_id,
        grant.entry_type,
        grant.amount,
        after["balance"],
        now,
        grants=[{"grant_id": grant_id, "kind": grant.kind, "amount": grant.amount}],
        by=grant.by,
        deficit_paid=payoff,
        **position(after),
    )
    await repos.ledger.insert(session, entry)
    doc: Doc = {
        "_id": grant_id,
        "account_id": grant.account_id,
        "kind": grant.kind,
        "amount": grant.amount,
        "remaining": grant.amount - payoff,
        "held": 0,
        "deficit_paid": payoff,
        "expires_at": grant.expires_at,
        "never_expires": grant.expires_at is None,
        "expired": False,
        "source": grant.by.source,
        "idempotency_key": key,
        "description": grant.by.description,
        "created_at": now,
        **(grant.grant_fields or {}),  # a period's: period_start, period_end, subscription_id
    }
    await repos.grants.insert(session, cast(GrantDoc, doc))
    return entry, after


async def take_back(
    session: Session,
    repos: Repositories,
    account: AccountDoc,
    amount: int,
    now: datetime,
    *,
    entry_type: str,
    first_grant: str | None = None,
    by: Attribution = Attribution(),
    request_key: bool = False,
) -> tuple[EntryDoc, AccountDoc] | None:
    """Remove credits (a clawback or a negative correction): from `first_grant`, then grants in
    spending order; what no grant covers becomes a deficit and may push the balance below zero.
    Returns (entry, account after), or None if `idempotency_key` was already used."""
    if amount <= 0:
        raise ValueError("take_back removes a positive amount")
    account_id = account["_id"]
    key = by.idempotency_key
    if key is not None and not request_key and await repos.ledger.by_key(session, account_id, key):
        return None
    taken = await draw(session, repos, account_id, amount, now, first=first_grant)
    shortfall = amount + sum(a["amount"] for a in taken)
    after = known(
        await repos.accounts.change(
            session, account_id, now, AccountChange(balance=-amount, deficit=shortfall, entries=1)
        ),
        account_id,
    )
    entry = ledger_entry(
        account_id,
        entry_type,
        -amount,
        after["balance"],
        now,
        grants=taken,
        by=by,
        deficit_added=shortfall,
        **position(after),
    )
    await repos.ledger.insert(session, entry)
    return entry, after
