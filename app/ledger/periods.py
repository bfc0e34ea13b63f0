"""Closing a subscription period: unused period credits carry over (per the plan's rollover)
into a `rollover` grant, and the rest expire, in one entry."""

from __future__ import annotations

from datetime import datetime

from app.kit.clock import as_utc
from app.ledger.documents import EntryDoc, GrantDoc, GrantPart
from app.ledger.entries import Attribution, ledger_entry, position
from app.ledger.repository import AccountChange, Repositories, known, new_id
from app.storage.database import Session

PERIOD_KINDS = ["subscription", "rollover", "trial"]


async def close_period(
    session: Session,
    repos: Repositories,
    account_id: str,
    *,
    before: datetime,
    period_end: datetime,
    carry_policy,
    expires_at: datetime | None,
    now: datetime,
    source: str,
    key: str,
    subscription_id: str | None = None,
    period_start: datetime | None = None,
    recarry: bool = False,
) -> EntryDoc | None:
    """Close the period grants of `subscription_id` for periods that began before `before` (a
    late invoice of an older period never closes a newer one; a period cut short by an
    interval change is closed by the period that replaced it). With `recarry`, what was
    already carried into the period beginning at `before` is closed with them and carried
    again, so that the rollover's limit applies to all of it once. Returns the entry, or None
    when there was nothing to close or `key` was used already."""
    grants = [
        g
        for g in await repos.grants.by_kinds(session, account_id, PERIOD_KINDS)
        if _of_subscription(g, subscription_id)
        and (_began_before(g, before) or (recarry and _carried_into(g, before)))
    ]
    if not grants or await repos.ledger.by_key(session, account_id, key):
        return None
    unused = sum(g["remaining"] for g in grants)
    carry = carry_policy.carry(unused)
    parts: list[GrantPart] = []
    for grant in grants:
        if await repos.grants.mark_expired(session, grant, now) and grant["remaining"]:
            parts.append(
                {"grant_id": grant["_id"], "kind": grant["kind"], "amount": -grant["remaining"]}
            )
    if carry:
        rollover_id = new_id("gr")
        await repos.grants.insert(
            session,
            {
                "_id": rollover_id,
                "account_id": account_id,
                "kind": "rollover",
                "amount": carry,
                "remaining": carry,
                "held": 0,
                "deficit_paid": 0,
                "expires_at": expires_at,
                "never_expires": expires_at is None,
                "expired": False,
                "source": source,
                "idempotency_key": None,
                "description": "credits carried over",
                "period_start": period_start,
                "period_end": period_end,
                "subscription_id": subscription_id,
                "created_at": now,
            },
        )
        parts.append({"grant_id": rollover_id, "kind": "rollover", "amount": carry})
    lost = unused - carry
    after = known(
        await repos.accounts.change(
            session,
            account_id,
            now,
            AccountChange(
                balance=-lost,
                due_by=expires_at if carry else None,
                entries=1,
                new_grant=rollover_id if carry else None,
            ),
        ),
        account_id,
    )
    entry = ledger_entry(
        account_id,
        "expiry" if lost else "grant",
        -lost,
        after["balance"],
        now,
        grants=parts,
        by=Attribution(
            source, key, description=f"period closed: {carry} carried over, {lost} expired"
        ),
        **position(after),
    )
    await repos.ledger.insert(session, entry)
    return entry


def _of_subscription(grant: GrantDoc, subscription_id: str | None) -> bool:
    """A grant written before grants named their subscription belongs to any."""
    owner = grant.get("subscription_id")
    return subscription_id is None or owner is None or owner == subscription_id


def _carried_into(grant: GrantDoc, start: datetime) -> bool:
    began = grant.get("period_start")
    return grant["kind"] == "rollover" and began is not None and as_utc(began) == start


def _began_before(grant: GrantDoc, before: datetime) -> bool:
    start = grant.get("period_start")
    if start is not None:
        return as_utc(start) < before
    end = grant.get("period_end")  # written before grants kept their period's start
    return end is not None and as_utc(end) <= before
