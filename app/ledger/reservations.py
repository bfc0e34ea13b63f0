"""Holds: set credits aside for work in progress, then capture, release or let them expire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NoReturn

from app.billing.repository import rerun
from app.kit.clock import as_utc
from app.kit.errors import (
    ReservationExpired,
    ReservationNotFound,
    ReservationNotHeld,
    TooManyReservations,
    ValidationFailed,
)
from app.ledger.access import spend_guard
from app.ledger.debits import explain_refusal
from app.ledger.documents import AccountDoc, EntryDoc, GrantPart, ReservationDoc
from app.ledger.entries import Attribution, ledger_entry, position
from app.ledger.expiry import ExpiryDue, record_lost, settle_hold
from app.ledger.repository import AccountChange, Repositories, known, new_id, of_account
from app.ledger.spending import draw, total
from app.storage.database import Session
from app.storage.documents import Doc


async def reserve_credits(
    session: Session,
    repos: Repositories,
    account_id: str,
    amount: int,
    ttl_seconds: int,
    now: datetime,
    *,
    by: Attribution,
    max_held: int,
    usage: Doc | None = None,
    remainders: tuple[Doc, Doc] | None = None,
) -> ReservationDoc:
    # A hold by meter is usage committed when it is held: its price moves the account's
    # remainders now (see debits.debit_credits), and its capture records the same usage.
    moved, read = remainders or ({}, {})
    # The guarded change of the (contended) account is the first statement, as for a debit;
    # the same write bounds the account's held reservations (nothing due: every held one is
    # live) and tells the account the hold's deadline.
    expires_at = now + timedelta(seconds=ttl_seconds)
    after = await repos.accounts.change(
        session,
        account_id,
        now,
        AccountChange(
            reserved=amount,
            holds=1,
            nothing_due=True,
            guard={**spend_guard(amount, now), "holds": {"$lt": max_held}, **read},
            due_by=expires_at,
            fields=moved,
        ),
    )
    if after is None:
        account = await explain_refusal(session, repos, account_id, amount, now)
        if read and account["holds"] < max_held:
            raise rerun("the account's meter remainders moved under the unit of work")
        raise TooManyReservations(
            f"account {account_id} already has {account['holds']} live holds "
            "(MAX_HELD_RESERVATIONS); capture or release some first",
            held_reservations=account["holds"],
            max_held_reservations=max_held,
        )
    held = await draw(
        session, repos, account_id, amount, now, hold=True, grant_ids=after.get("grant_ids")
    )
    if total(held) != amount:
        raise RuntimeError(f"ledger invariant broken on {account_id}: grants short of balance")
    # A hold is always an API request's: it has a key and an actor.
    assert by.idempotency_key is not None and by.actor is not None
    reservation: ReservationDoc = {
        "_id": new_id("rsv"),
        "account_id": account_id,
        "amount": amount,
        "captured": 0,
        "status": "held",
        "grants": held,
        "expires_at": expires_at,
        "idempotency_key": by.idempotency_key,
        "actor": by.actor,
        "description": by.description,
        "metadata": by.metadata or {},
        "created_at": now,
        "resolved_at": None,
    }
    if usage:
        reservation["usage"] = usage
    await repos.reservations.insert(session, reservation)
    return reservation


async def find_reservation(
    session: Session, repos: Repositories, reservation_id: str, account_id: str | None = None
) -> ReservationDoc:
    """The hold, by its account when known (else the one read that learns its account)."""
    reservation = await of_account(repos.reservations, session, reservation_id, account_id)
    if reservation is None:
        raise ReservationNotFound(f"reservation {reservation_id!r} not found")
    return reservation


def refuse_resolved(reservation: ReservationDoc, now: datetime) -> NoReturn:
    status = reservation["status"]
    if status == "expired" or (status == "held" and as_utc(reservation["expires_at"]) <= now):
        expires_at = as_utc(reservation["expires_at"]).isoformat().replace("+00:00", "Z")
        raise ReservationExpired(
            f"reservation {reservation['_id']} expired at {expires_at}",
            reservation_id=reservation["_id"],
            expires_at=expires_at,
        )
    raise ReservationNotHeld(
        f"reservation {reservation['_id']} is already {status}",
        reservation_id=reservation["_id"],
        reservation_status=status,
    )


def capture_amount(reservation: ReservationDoc, amount: int | None) -> int:
    """What a capture takes (default: all the hold); a capture may not exceed its hold."""
    held = reservation["amount"]
    captured = held if amount is None else amount
    if captured > held:
        raise ValidationFailed(
            f"amount: {captured} exceeds the {held} credits held",
            errors=[{"loc": ["body", "amount"], "msg": "exceeds the hold", "type": "value_error"}],
            requested=captured,
            held=held,
        )
    return captured


# (hold after, entry, account after the entry) -> the replay
Answer = Callable[[Doc, EntryDoc | None, AccountDoc | None], dict[str, Any]]


async def capture_reservation(
    session: Session,
    repos: Repositories,
    reservation: ReservationDoc,
    captured: int,
    now: datetime,
    *,
    idempotency_key: str,
    actor: str,
    replay: Answer,
) -> tuple[ReservationDoc, EntryDoc]:
    """Spend `captured` of a live hold (read before: a hold's amount and grants never change);
    the rest goes back to its grants at once. The change of the (contended) account is the
    first statement; resolving the hold once is the write that can refuse (the unit is then
    undone)."""
    reservation_id, account_id = reservation["_id"], reservation["account_id"]
    after = await _account_first(session, repos, reservation, now, balance=-captured, entries=1)
    entry = ledger_entry(
        account_id,
        "capture",
        -captured,
        after["balance"],
        now,
        grants=_spent_grants(reservation["grants"], captured),
        by=Attribution(
            f"reservation:{reservation_id}",
            idempotency_key,
            actor,
            reservation.get("description"),
            reservation.get("metadata"),
        ),
        reservation_id=reservation_id,
        **({"usage": reservation["usage"]} if reservation.get("usage") else {}),
        **position(after),
    )
    done = await _resolve(
        session, repos, reservation, "captured", captured, now, replay, entry, after
    )
    lost = await settle_hold(session, repos, reservation, captured)
    await repos.ledger.insert(session, entry)
    await _expire_lost(session, repos, reservation, lost, now)
    return done, entry


async def release_reservation(
    session: Session,
    repos: Repositories,
    reservation: ReservationDoc,
    now: datetime,
    *,
    replay: Answer,
) -> ReservationDoc:
    """Give a live hold's credits back to its grants (the hold was read before), in the same
    order as a capture."""
    await _account_first(session, repos, reservation, now, balance=0, entries=0)
    done = await _resolve(session, repos, reservation, "released", 0, now, replay, None)
    lost = await settle_hold(session, repos, reservation, 0)
    await _expire_lost(session, repos, reservation, lost, now)
    return done


async def _account_first(
    session: Session,
    repos: Repositories,
    reservation: ReservationDoc,
    now: datetime,
    *,
    balance: int,
    entries: int,
) -> AccountDoc:
    after = await repos.accounts.change(
        session,
        reservation["account_id"],
        now,
        AccountChange(
            balance=balance,
            reserved=-reservation["amount"],
            holds=-1,
            nothing_due=True,
            entries=entries,
        ),
    )
    if after is None:
        # The account exists (it holds this hold): something on it is due, maybe this hold.
        raise ExpiryDue(reservation["account_id"])
    return after


async def _resolve(
    session: Session,
    repos: Repositories,
    reservation: ReservationDoc,
    status: str,
    captured: int,
    now: datetime,
    replay: Answer,
    entry: EntryDoc | None,
    account: AccountDoc | None = None,
) -> ReservationDoc:
    resolved = {**reservation, "status": status, "captured": captured, "resolved_at": now}
    done = await repos.reservations.resolve(
        session,
        reservation,
        status,
        captured,
        now,
        live_at=now,
        replay=replay(resolved, entry, account),
    )
    if done is None:
        found = await find_reservation(
            session, repos, reservation["_id"], reservation["account_id"]
        )
        refuse_resolved(found, now)
    return done


async def _expire_lost(
    session: Session, repos: Repositories, reservation: ReservationDoc, lost: int, now: datetime
) -> None:
    """Credits the hold gave back to grants that expired during it expire now (rare)."""
    if lost:
        after = known(
            await repos.accounts.change(
                session, reservation["account_id"], now, AccountChange(balance=-lost, entries=1)
            ),
            reservation["account_id"],
        )
        await record_lost(session, repos, reservation, lost, after, now)


def _spent_grants(allocations: list[GrantPart], captured: int) -> list[GrantPart]:
    spent: list[GrantPart] = []
    left = captured
    for alloc in allocations:
        take = min(-alloc["amount"], left)
        if take:
            spent.append({**alloc, "amount": -take})
        left -= take
    return spent
