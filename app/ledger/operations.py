"""The ledger's entry points for the API: each opens one transaction around the rules."""

from __future__ import annotations

from datetime import datetime

from app.clock import Clock, as_utc
from app.errors import AccountNotFound, ValidationFailed
from app.ledger import schemas
from app.ledger.access import access_reason, available
from app.ledger.debits import debit_credits
from app.ledger.expiry import expire_if_due, load_account
from app.ledger.grants import grant_credits, take_back
from app.ledger.idempotency import Outcome, fingerprint, run_idempotent
from app.ledger.repository import Repositories
from app.ledger.reservations import (
    capture_amount,
    capture_reservation,
    find_reservation,
    release_reservation,
    reserve_credits,
)
from app.ledger.views import account_view, entry_view, grant_view, reservation_view


class Ledger:
    def __init__(self, repos: Repositories, clock: Clock) -> None:
        self.repos = repos
        self.clock = clock

    # Reads: each expires what is due first (in its own transaction, only when something
    # is), so no answer includes expired credits; the read itself needs no transaction.

    async def account(self, account_id: str) -> schemas.Account:
        now = self.clock.now()
        return account_view(await load_account(self.repos, account_id, now), now)

    async def grants(self, account_id: str) -> schemas.GrantList:
        await load_account(self.repos, account_id, self.clock.now())
        live = await self.repos.grants.live(None, account_id)
        return schemas.GrantList(data=[grant_view(g) for g in live])

    async def ledger_page(self, account_id: str, *, limit: int, starting_after: str | None,
                          type_: str | None, created_gte: datetime | None,
                          created_lt: datetime | None) -> schemas.LedgerPage:
        await load_account(self.repos, account_id, self.clock.now())
        docs = await self.repos.ledger.page(
            None, account_id, limit=limit, starting_after=starting_after, type_=type_,
            created_gte=created_gte, created_lt=created_lt)
        has_more = len(docs) > limit
        docs = docs[:limit]
        return schemas.LedgerPage(data=[entry_view(d) for d in docs], has_more=has_more,
                                  next_cursor=docs[-1]["_id"] if has_more else None)

    async def access(self, account_id: str, cost: int) -> schemas.AccessDecision:
        now = self.clock.now()
        account = await load_account(self.repos, account_id, now)
        reason = access_reason(account, cost, now)
        return schemas.AccessDecision(allowed=reason == "ok", reason=reason,
                                      available=available(account))

    async def reservation(self, reservation_id: str) -> schemas.Reservation:
        found = await find_reservation(None, self.repos, reservation_id)
        await expire_if_due(self.repos, found["account_id"], self.clock.now())
        return reservation_view(await find_reservation(None, self.repos, reservation_id))

    # Writes: each runs once per Idempotency-Key, in one transaction with its stored answer.

    async def debit(self, account_id: str, req: schemas.DebitCreate, key: str,
                    actor: str) -> Outcome:
        now = self.clock.now()

        async def work(session):
            entry, after = await debit_credits(
                session, self.repos, account_id, req.amount, now, idempotency_key=key,
                actor=actor, description=req.description, metadata=req.metadata)
            return _entry_with_account(entry, after, now)

        return await self._once(account_id, key, "debit", req.model_dump(mode="json"), now,
                                work, 201)

    async def reserve(self, account_id: str, req: schemas.ReservationCreate, key: str,
                      actor: str) -> Outcome:
        now = self.clock.now()

        async def work(session):
            reservation = await reserve_credits(
                session, self.repos, account_id, req.amount, req.ttl_seconds, now,
                idempotency_key=key, actor=actor, description=req.description,
                metadata=req.metadata)
            return reservation_view(reservation).model_dump(mode="json")

        return await self._once(account_id, key, "reserve", req.model_dump(mode="json"), now,
                                work, 201)

    async def capture(self, reservation_id: str, req: schemas.CaptureCreate, key: str,
                      actor: str) -> Outcome:
        now = self.clock.now()
        found = await find_reservation(None, self.repos, reservation_id)
        captured = capture_amount(found, req.amount)  # refused before anything is written

        async def work(session):
            reservation, entry = await capture_reservation(
                session, self.repos, found, captured, now, idempotency_key=key, actor=actor)
            return schemas.CaptureResult(reservation=reservation_view(reservation),
                                         entry=entry_view(entry)).model_dump(mode="json")

        request = {"reservation": reservation_id, **req.model_dump(mode="json")}
        return await self._once(found["account_id"], key, "capture", request, now, work, 200)

    async def release(self, reservation_id: str, key: str, actor: str) -> Outcome:
        now = self.clock.now()
        found = await find_reservation(None, self.repos, reservation_id)

        async def work(session):
            reservation = await release_reservation(session, self.repos, found, now)
            return reservation_view(reservation).model_dump(mode="json")

        return await self._once(found["account_id"], key, "release",
                                {"reservation": reservation_id}, now, work, 200)

    async def grant(self, account_id: str, req: schemas.GrantCreate, key: str,
                    actor: str) -> Outcome:
        now = self.clock.now()

        async def work(session):
            # Checked here, after the replay check: an exact retry gets the first answer even
            # once the time it named has passed.
            if req.expires_at is not None and as_utc(req.expires_at) <= now:
                raise ValidationFailed("expires_at: must be in the future", errors=[
                    {"loc": ["body", "expires_at"], "msg": "must be in the future",
                     "type": "value_error"}])
            entry, after = await grant_credits(
                session, self.repos, account_id, req.amount, req.kind, now,
                expires_at=req.expires_at, source="api", idempotency_key=key, actor=actor,
                description=req.description, metadata=req.metadata)
            return _entry_with_account(entry, after, now)

        return await self._once(account_id, key, "grant", req.model_dump(mode="json"), now,
                                work, 201)

    async def adjust(self, account_id: str, req: schemas.AdjustmentCreate, key: str,
                     actor: str) -> Outcome:
        now = self.clock.now()

        async def work(session):
            account = await self.repos.accounts.get(session, account_id)
            if account is None:
                raise AccountNotFound(f"account {account_id!r} not found")
            if req.amount > 0:
                entry, after = await grant_credits(
                    session, self.repos, account_id, req.amount, "correction", now,
                    source="adjustment", idempotency_key=key, entry_type="adjustment",
                    actor=actor, description=req.reason, metadata=req.metadata)
            else:
                entry, after = await take_back(
                    session, self.repos, account, -req.amount, now, entry_type="adjustment",
                    source="adjustment", idempotency_key=key, actor=actor,
                    description=req.reason, metadata=req.metadata)
            return _entry_with_account(entry, after, now)

        return await self._once(account_id, key, "adjust", req.model_dump(mode="json"), now,
                                work, 201)

    async def _once(self, account_id, key, operation, request, now, work, status) -> Outcome:
        async def before() -> None:
            # Committed whatever becomes of the request: a refusal must not undo the expiry.
            await expire_if_due(self.repos, account_id, now)

        return await run_idempotent(self.repos, account_id, key,
                                    fingerprint(operation, request), now, work, status,
                                    before=before)


def _entry_with_account(entry, after, now) -> dict:
    return schemas.EntryWithAccount(entry=entry_view(entry),
                                    account=account_view(after, now)).model_dump(mode="json")
