"""Expiry of grants and holds: lazily on every touch of an account, and by a periodic sweep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import TypeVar

from app.jobs.isolation import isolated
from app.kit.clock import as_utc
from app.kit.errors import AccountNotFound
from app.kit.metrics import Metrics
from app.ledger.documents import AccountDoc, EntryDoc, GrantDoc, ReservationDoc
from app.ledger.entries import Attribution, ledger_entry, position
from app.ledger.repository import NOTHING_DUE, AccountChange, Repositories, known
from app.storage.batches import in_batches
from app.storage.database import GRANTS, RESERVATIONS, Session
from app.storage.documents import Doc

T = TypeVar("T")

log = logging.getLogger("app.ledger.expiry")

# Grants and holds expired per transaction: a few hundred writes, well inside a transaction's
# 60 s and its 16 MB of oplog, however long an account went untouched.
EXPIRY_BATCH = 200


async def settle_hold(
    session: Session, repos: Repositories, reservation: ReservationDoc, captured: int
) -> int:
    """Give back what a hold set aside beyond `captured`, in the order the hold took it, to all
    its grants in one call. Returns the credits freed from grants that expired during the hold:
    they expire (only then does it cost two calls more)."""
    parts, to_spend = [], captured
    for alloc in reservation["grants"]:
        held = -alloc["amount"]
        spent = min(held, to_spend)
        to_spend -= spent
        parts.append((alloc["grant_id"], held, held - spent))
    if await repos.grants.settle_live(session, reservation["account_id"], parts) == len(parts):
        return 0
    account_id = reservation["account_id"]
    expired = await repos.grants.expired_among(session, account_id, [g for g, _, _ in parts])
    gone = [part for part in parts if part[0] in expired]
    await repos.grants.drop_held(session, account_id, [(g, held) for g, held, _ in gone])
    return sum(freed for _, _, freed in gone)


async def release_hold(
    session: Session, repos: Repositories, reservation: ReservationDoc, status: str, now: datetime
) -> ReservationDoc | None:
    """Resolve a held reservation as `released` or `expired`: its credits go back to their
    grants, and those of grants that expired meanwhile expire now. Returns the reservation
    after, or None if it was already resolved."""
    done = await repos.reservations.resolve(session, reservation, status, 0, now, live_at=None)
    if done is None:
        return None
    lost = await settle_hold(session, repos, reservation, 0)
    after = known(
        await repos.accounts.change(
            session,
            reservation["account_id"],
            now,
            AccountChange(
                balance=-lost, reserved=-reservation["amount"], holds=-1, entries=int(bool(lost))
            ),
        ),
        reservation["account_id"],
    )
    await record_lost(session, repos, reservation, lost, after, now)
    return done


async def record_lost(
    session: Session,
    repos: Repositories,
    reservation: ReservationDoc,
    lost: int,
    after: AccountDoc,
    now: datetime,
) -> None:
    """Credits a hold gave back to grants that expired meanwhile expire now (the entry the
    account change `after` numbered)."""
    if lost:
        await repos.ledger.insert(
            session,
            ledger_entry(
                reservation["account_id"],
                "expiry",
                -lost,
                after["balance"],
                now,
                by=Attribution(
                    source=f"reservation:{reservation['_id']}",
                    description="held credits of expired grants, released",
                ),
                **position(after),
            ),
        )


async def expire_grant(
    session: Session,
    repos: Repositories,
    grant: GrantDoc,
    now: datetime,
    *,
    reason: str = "grant expired",
    actor: str | None = None,
    idempotency_key: str | None = None,
    fields: Doc | None = None,
) -> EntryDoc | None:
    """Expire one grant now; its free credits leave the balance with an `expiry` entry.
    Credits a hold has set aside stay with the hold. Returns that entry (None when nothing
    was free, or the grant had expired already)."""
    if not await repos.grants.mark_expired(session, grant, now, fields=fields):
        return None
    lost = grant["remaining"]
    if not lost:
        return None
    account = known(
        await repos.accounts.change(
            session, grant["account_id"], now, AccountChange(balance=-lost, entries=1)
        ),
        grant["account_id"],
    )
    entry = ledger_entry(
        grant["account_id"],
        "expiry",
        -lost,
        account["balance"],
        now,
        grants=[{"grant_id": grant["_id"], "kind": grant["kind"], "amount": -lost}],
        by=Attribution(grant["source"], idempotency_key, actor, reason),
        **position(account),
    )
    await repos.ledger.insert(session, entry)
    return entry


class ExpiryDue(Exception):
    """Raised by a unit of work that found something due on its account: it is undone, the
    expiry runs in a transaction of its own, and the unit runs again."""


def is_due(account: AccountDoc, now: datetime) -> bool:
    """Whether something on the account may be due (an account written before `next_due_at`
    `grant_ids` and `holds` existed counts as due once: its expiry sets them)."""
    due = account.get("next_due_at")
    return due is None or as_utc(due) <= now or "grant_ids" not in account or "holds" not in account


async def expire_due(
    session: Session,
    repos: Repositories,
    account_id: str,
    now: datetime,
    *,
    look: bool = False,
    limit: int = EXPIRY_BATCH,
) -> bool:
    """What is due on one account, up to `limit` items: holds past their deadline, then grants
    past expiry; once none is left the account learns its next deadline. Skipped (one read)
    when the account says nothing is due, unless `look` (the sweep found something due).
    Returns False when it stopped at `limit` with more perhaps due: the account still says
    so, and the caller's next transaction (or the next touch of the account) goes on."""
    if not look:
        account = await repos.accounts.get(session, account_id)
        if account is None or not is_due(account, now):
            return True
    holds = await repos.reservations.due(session, account_id, now, limit)
    for reservation in holds:
        await release_hold(session, repos, reservation, "expired", now)
    left = limit - len(holds)
    grants = await repos.grants.due(session, account_id, now, left) if left else []
    for grant in grants:
        await expire_grant(session, repos, grant, now)
    if len(holds) + len(grants) >= limit:
        return False
    await _learn_next_due(session, repos, account_id)
    return True


async def _learn_next_due(session: Session, repos: Repositories, account_id: str) -> None:
    """The account learns its next deadline and the grants that may still have credits (a
    grant with none free and none held never gets any again): two index reads, whatever the
    number of used-up grants the account has kept."""
    holds = await repos.reservations.held(session, account_id)
    deadlines = [as_utc(h["expires_at"]) for h in holds]
    expiring = await repos.grants.next_to_expire(session, account_id)
    if expiring is not None and expiring["expires_at"] is not None:  # it never expires: none
        deadlines.append(as_utc(expiring["expires_at"]))
    live = await repos.grants.live_ids(session, account_id)
    await repos.accounts.set_next_due(
        session, account_id, min(deadlines, default=NOTHING_DUE), live, len(holds)
    )


async def expire_now(
    repos: Repositories, account_id: str, now: datetime, *, look: bool = False
) -> None:
    """Expire what is due on an account in transactions of its own, `EXPIRY_BATCH` items each,
    before the request's: the expiry commits whatever becomes of the request (a refused debit
    aborts only itself), and every transaction stays short, however much is due."""
    while not await repos.db.transaction(
        partial(expire_due, repos=repos, account_id=account_id, now=now, look=look)
    ):
        look = False  # the account says it is still due until the last batch


async def after_expiry(
    repos: Repositories, account_id: str, now: datetime, unit: Callable[[Session], Awaitable[T]]
) -> T:
    """Run `unit` in a transaction; when it finds something due (ExpiryDue: its guarded account
    write refused), expire that first, in a transaction of its own, and run it again."""
    for _ in range(2):
        try:
            return await repos.db.transaction(unit)
        except ExpiryDue:
            await expire_now(repos, account_id, now)
    return await repos.db.transaction(unit)


async def after_expiry_of(
    repos: Repositories, now: datetime, unit: Callable[[], Callable[[Session], Awaitable[T]]]
) -> T:
    """`after_expiry` for a unit of several accounts: its ExpiryDue names the accounts found
    due, each expired in transactions of its own; `unit()` makes the work of each try."""
    for _ in range(2):
        try:
            return await repos.db.transaction(unit())
        except ExpiryDue as due:
            for account_id in due.args:
                await expire_now(repos, account_id, now)
    return await repos.db.transaction(unit())


async def load_account(repos: Repositories, account_id: str, now: datetime) -> AccountDoc:
    """An account after expiring whatever is due on it (every read and write does this): one
    read when nothing is due, the account document saying so."""
    account = await repos.accounts.get(None, account_id)
    if account is None:
        raise AccountNotFound(f"account {account_id!r} not found")
    if is_due(account, now):
        await expire_now(repos, account_id, now)
        account = known(await repos.accounts.get(None, account_id), account_id)
    return account


async def sweep(
    repos: Repositories, now: datetime, *, metrics: Metrics | None = None, batch: int = 500
) -> int:
    """Expire what is due on accounts nobody touched. Their due holds and grants are read
    `batch` at a time, by deadline; each account expires in transactions of its own, isolated:
    one that fails is logged, counted and skipped, and the sweep goes on past it. Returns the
    number of accounts swept (failed ones included)."""
    seen: set[str] = set()
    for col, query in (
        (repos.db[RESERVATIONS], {"status": "held", "expires_at": {"$lte": now}}),
        (
            repos.db[GRANTS],
            {"expired": False, "never_expires": False, "expires_at": {"$lte": now}},
        ),
    ):
        async for docs in in_batches(col, query, "expires_at", batch, {"account_id": 1}):
            for account_id in sorted({doc["account_id"] for doc in docs} - seen):
                seen.add(account_id)
                await isolated(
                    metrics,
                    "expiry",
                    f"account {account_id}",
                    partial(expire_now, repos, account_id, now, look=True),
                )
                await asyncio.sleep(0)  # requests go between accounts (embedded engine)
    return len(seen)
