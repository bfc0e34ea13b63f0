"""Drawing credits from grants in spending order (debits, holds, negative adjustments)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from app.ledger.documents import GrantDoc, GrantPart
from app.ledger.repository import Repositories
from app.storage.database import Session


async def draw(
    session: Session,
    repos: Repositories,
    account_id: str,
    amount: int,
    now: datetime,
    *,
    hold: bool = False,
    first: str | None = None,
    grant_ids: list[str] | None = None,
) -> list[GrantPart]:
    """Take up to `amount` free credits from live grants: soonest expiry first, never-expiring
    last, oldest first within that (a clawback names the grant it concerns as `first`).
    Returns what was taken from each grant, as `[{"grant_id", "amount"}]` (negative amounts)."""
    grants = await repos.grants.spendable(session, account_id, now, grant_ids=grant_ids)
    if first is not None:
        grants.sort(key=lambda g: g["_id"] != first)
    taken = [part(grant, take) for grant, take in takes_from(grants, amount)[0]]
    # One call for all the grants, however many: each update is guarded, and inside the
    # transaction they all hold (the unit of work runs again if one ever did not).
    takes = [(a["grant_id"], -a["amount"]) for a in taken]
    await repos.grants.take(session, account_id, takes, hold=hold)
    if grant_ids is not None and not hold:
        # A grant this debit used up (nothing free, nothing held) never has credits again:
        # it leaves the account's list, which would otherwise only ever grow.
        spent = {a["grant_id"]: -a["amount"] for a in taken}
        used_up = [
            g["_id"] for g in grants if spent.get(g["_id"]) == g["remaining"] and not g["held"]
        ]
        if used_up:
            await repos.accounts.forget_grants(session, account_id, used_up)
    return taken


def takes_from(grants: Sequence[GrantDoc], amount: int) -> tuple[list[tuple[GrantDoc, int]], int]:
    """What `amount` takes from each of `grants`, in their order (spending order), from their
    free credits (`remaining`): the grants it takes from with what it takes, and what is left
    that they could not give. The one loop of every draw: the service's own (above), group
    commit's batch in memory and a usage batch's unit."""
    takes: list[tuple[GrantDoc, int]] = []
    left = amount
    for grant in grants:
        if left == 0:
            break
        take = min(grant["remaining"], left)
        if take <= 0:
            continue
        takes.append((grant, take))
        left -= take
    return takes, left


def part(grant: GrantDoc, take: int) -> GrantPart:
    """What an entry or hold records of a grant it took `take` credits from."""
    return {"grant_id": grant["_id"], "kind": grant["kind"], "amount": -take}


def total(allocations: Sequence[Mapping[str, Any]]) -> int:
    return -sum(a["amount"] for a in allocations)
