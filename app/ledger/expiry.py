"""Expiry of grants and holds: lazily on every touch of an account, and by a periodic sweep."""

from __future__ import annotations

import logging
from datetime import datetime

from app.db import GRANTS, RESERVATIONS, Session
from app.errors import AccountNotFound
from app.ledger.entries import ledger_entry
from app.ledger.repository import Doc, Repositories

log = logging.getLogger("app.ledger.expiry")


async def settle_hold(session: Session, repos: Repositories, reservation: Doc,
                      captured: int) -> int:
    """Give back what a hold set aside beyond `captured`, grant by grant, in the order the hold
    took it. Returns the credits freed from grants that expired during the hold: they expire."""
    to_spend = captured
    expired = 0
    for alloc in reservation["grants"]:
        held = -alloc["amount"]
        spent = min(held, to_spend)
        to_spend -= spent
        freed = held - spent
        if not await repos.grants.settle_hold(session, alloc["grant_id"], held, freed):
            expired += freed
    return expired


async def release_hold(session: Session, repos: Repositories, reservation: Doc, status: str,
                       now: datetime) -> Doc | None:
    """Resolve a held reservation as `released` or `expired`: its credits go back to their
    grants, and those of grants that expired meanwhile expire now. Returns the reservation
    after, or None if it was already resolved."""
    done = await repos.reservations.resolve(session, reservation["_id"], status, 0, now,
                                            live_at=None)
    if done is None:
        return None
    lost = await settle_hold(session, repos, reservation, 0)
    after = await repos.accounts.change(session, reservation["account_id"], now,
                                        balance=-lost, reserved=-reservation["amount"])
    await record_lost(session, repos, reservation, lost, after, now)
    return done


async def record_lost(session: Session, repos: Repositories, reservation: Doc, lost: int,
                      after: Doc, now: datetime) -> None:
    """Credits a hold gave back to grants that expired meanwhile expire now."""
    if lost:
        await repos.ledger.insert(session, ledger_entry(
            reservation["account_id"], "expiry", -lost, after["balance"], now,
            source=f"reservation:{reservation['_id']}",
            description="held credits of expired grants, released"))


async def expire_grant(session: Session, repos: Repositories, grant: Doc, now: datetime,
                       *, reason: str = "grant expired") -> int:
    """Expire one grant now; its free credits leave the balance with an `expiry` entry.
    Credits a hold has set aside stay with the hold. Returns the credits expired."""
    if not await repos.grants.mark_expired(session, grant, now):
        return 0
    lost = grant["remaining"]
    if lost:
        account = await repos.accounts.change(session, grant["account_id"], now, balance=-lost)
        await repos.ledger.insert(session, ledger_entry(
            grant["account_id"], "expiry", -lost, account["balance"], now,
            grants=[{"grant_id": grant["_id"], "kind": grant["kind"], "amount": -lost}],
            source=grant["source"], description=reason))
    return lost


async def expire_due(session: Session, repos: Repositories, account_id: str,
                     now: datetime) -> bool:
    """Everything due on one account: holds past their deadline, then grants past expiry.
    Returns whether anything was due."""
    holds = await repos.reservations.due(session, account_id, now)
    for reservation in holds:
        await release_hold(session, repos, reservation, "expired", now)
    grants = await repos.grants.due(session, account_id, now)
    for grant in grants:
        await expire_grant(session, repos, grant, now)
    return bool(holds or grants)


async def expire_if_due(repos: Repositories, account_id: str, now: datetime) -> None:
    """Expire what is due on an account in a transaction of its own, before the request's: the
    expiry commits whatever becomes of the request (a refused debit aborts only itself), and
    the request's own transaction stays short. Nothing due (the common case): two reads."""
    if (await repos.reservations.first_due(None, account_id, now) is None
            and await repos.grants.first_due(None, account_id, now) is None):
        return
    await repos.db.transaction(lambda session: expire_due(session, repos, account_id, now))


async def load_account(repos: Repositories, account_id: str, now: datetime) -> Doc:
    """An account after expiring whatever is due on it (every read and write does this)."""
    await expire_if_due(repos, account_id, now)
    account = await repos.accounts.get(None, account_id)
    if account is None:
        raise AccountNotFound(f"account {account_id!r} not found")
    return account


async def accounts_with_due_items(repos: Repositories, now: datetime, limit: int) -> list[str]:
    """Accounts nobody touched whose grants or holds are due (for the periodic sweep)."""
    db = repos.db
    ids: set[str] = set()
    for col, query in (
        (RESERVATIONS, {"status": "held", "expires_at": {"$lte": now}}),
        (GRANTS, {"expired": False, "never_expires": False, "expires_at": {"$lte": now}}),
    ):
        docs = await db[col].find(query, {"account_id": 1}).limit(limit).to_list(None)
        ids.update(doc["account_id"] for doc in docs)
    return sorted(ids)


async def sweep(repos: Repositories, now: datetime, limit: int = 500) -> int:
    """Expire due grants and holds of up to `limit` accounts, each in its own transaction."""
    accounts = await accounts_with_due_items(repos, now, limit)
    for account_id in accounts:
        await repos.db.transaction(
            lambda session, a=account_id: expire_due(session, repos, a, now))
    return len(accounts)
