"""An operator's changes to a grant after the fact: voiding what is left of it, and moving its
expiry. Each runs inside the caller's transaction, like every other write."""

from __future__ import annotations

from datetime import datetime

from app.kit.clock import as_utc
from app.kit.errors import GrantExpired, GrantNotFound, invalid_field
from app.ledger.documents import EntryDoc, GrantDoc
from app.ledger.expiry import expire_due, expire_grant, is_due
from app.ledger.repository import AccountChange, Repositories, of_account
from app.ledger.views import grant_status
from app.storage.database import Session


async def find_grant(
    session: Session, repos: Repositories, grant_id: str, account_id: str | None = None
) -> GrantDoc:
    """The grant, by its account when known (else the one read that learns its account)."""
    if (grant := await of_account(repos.grants, session, grant_id, account_id)) is None:
        raise GrantNotFound(f"grant {grant_id!r} not found", grant_id=grant_id)
    return grant


async def live_grant(
    session: Session, repos: Repositories, account_id: str, grant_id: str, now: datetime
) -> GrantDoc:
    """The grant, after whatever was due on its account expired (a change comes after that);
    refused once it has expired or was voided: what is gone stays gone."""
    grant = await find_grant(session, repos, grant_id, account_id)
    account = await repos.accounts.get(session, account_id)
    if account is not None and is_due(account, now):
        await expire_due(session, repos, account_id, now)
        grant = await find_grant(session, repos, grant_id, account_id)
    if grant["expired"]:
        ended = grant_status(grant)
        raise GrantExpired(
            f"grant {grant_id} has {ended}; its credits cannot come back (grant new ones)",
            grant_id=grant_id,
            grant_status=ended,
        )
    return grant


async def void_grant(
    session: Session,
    repos: Repositories,
    account_id: str,
    grant_id: str,
    now: datetime,
    *,
    reason: str,
    actor: str,
    idempotency_key: str,
) -> tuple[GrantDoc, EntryDoc | None]:
    """The rest of a grant expires now, with an `expiry` entry (none when nothing was free).
    Credits a hold has set aside stay with the hold, as at any expiry: what it releases
    later expires then. Returns (the grant after, the entry)."""
    grant = await live_grant(session, repos, account_id, grant_id, now)
    entry = await expire_grant(
        session,
        repos,
        grant,
        now,
        reason=f"grant voided: {reason}",
        actor=actor,
        idempotency_key=idempotency_key,
        fields={"voided_at": now, "voided_by": actor, "void_reason": reason},
    )
    return await find_grant(session, repos, grant_id, account_id), entry


async def change_expiry(
    session: Session,
    repos: Repositories,
    account_id: str,
    grant_id: str,
    expires_at: datetime | None,
    now: datetime,
    *,
    reason: str | None,
    actor: str,
) -> GrantDoc:
    """A live grant expires at `expires_at` instead (None: never); the balance does not move.
    The account learns the new deadline in the same transaction. Returns the grant after."""
    if expires_at is not None and as_utc(expires_at) <= now:
        raise invalid_field("body", "expires_at", "must be in the future")
    grant = await live_grant(session, repos, account_id, grant_id, now)
    change = {
        "from": grant.get("expires_at"),
        "to": expires_at,
        "at": now,
        "actor": actor,
        "reason": reason,
    }
    after = await repos.grants.set_expiry(session, grant, expires_at, change)
    if after is None:  # inside the transaction the grant just read cannot have changed
        raise RuntimeError(f"grant {grant_id} changed under the unit of work")
    # An earlier deadline is one the account must know of; a later one it finds by itself.
    await repos.accounts.change(session, account_id, now, AccountChange(due_by=expires_at))
    return after
