"""The ledger's entry points for the API: each opens one transaction around the rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel

from app.billing.catalog import Catalog
from app.kit.clock import Clock, as_utc
from app.kit.errors import AccountNotFound, invalid_field
from app.kit.paging import page_of
from app.ledger import batch_schemas, schemas
from app.ledger.access import access_reason, available
from app.ledger.debits import debit_credits
from app.ledger.documents import AccountDoc, EntryDoc, ReservationDoc
from app.ledger.entries import Attribution
from app.ledger.expiry import expire_due, expire_now, is_due, load_account
from app.ledger.grant_changes import change_expiry, find_grant, void_grant
from app.ledger.grants import NewGrant, grant_credits, take_back
from app.ledger.group_commit import GroupCommit
from app.ledger.idempotency import (
    Outcome,
    check_caller_key,
    fingerprint,
    idempotently,
    replayed,
    run_idempotent,
)
from app.ledger.metering import Carried, RateCard
from app.ledger.profile import update_profile
from app.ledger.repository import LedgerQuery, Repositories, known
from app.ledger.reservations import (
    capture_amount,
    capture_reservation,
    find_reservation,
    refuse_resolved,
    release_reservation,
    reserve_credits,
)
from app.ledger.spends import Spend
from app.ledger.usage_batch import Answer, apply_batch
from app.ledger.verify import verify
from app.ledger.views import (
    account_json,
    account_view,
    entry_json,
    entry_view,
    grant_view,
    reservation_view,
)
from app.storage.database import Session
from app.storage.documents import Doc


class Cost(NamedTuple):
    """What a debit or hold costs: its credits, its usage by meter (how it was priced), and
    the account's meter remainders it moves (their $set, their values as read)."""

    amount: int
    usage: Doc | None = None
    remainders: tuple[Doc, Doc] | None = None


class Ledger:
    def __init__(
        self,
        repos: Repositories,
        clock: Clock,
        *,
        max_held: int = 1000,
        group: GroupCommit | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.repos = repos
        self.clock = clock
        self.max_held = max_held  # MAX_HELD_RESERVATIONS
        # Debits and holds of one account share units of work (GROUP_COMMIT); None: one each.
        self.group = group
        self.rates_card = RateCard(catalog)

    # Reads: each expires what is due first (in its own transaction, only when the account
    # says something is), so no answer includes expired credits; no read needs a transaction.

    async def account(self, account_id: str) -> schemas.Account:
        now = self.clock.now()
        return account_view(await load_account(self.repos, account_id, now), now)

    async def grants(
        self, account_id: str, *, limit: int, starting_after: str | None
    ) -> schemas.GrantList:
        await load_account(self.repos, account_id, self.clock.now())
        after = None
        if starting_after is not None:
            after = await self.repos.grants.get(None, account_id, starting_after)
            if after is None:
                raise invalid_field("query", "starting_after", "not a grant of this account")
        docs = await self.repos.grants.live(None, account_id, limit=limit, after=after)
        return page_of(schemas.GrantList, docs, limit, grant_view)

    async def ledger_page(self, account_id: str, query: LedgerQuery) -> schemas.LedgerPage:
        await load_account(self.repos, account_id, self.clock.now())
        docs = await self.repos.ledger.page(None, account_id, query)
        return page_of(schemas.LedgerPage, docs, query.limit, entry_view)

    async def balance_at(self, account_id: str, at: datetime | None) -> schemas.BalanceAt:
        """The balance right after the last entry created at or before `at` (default: now)."""
        now = self.clock.now()
        await load_account(self.repos, account_id, now)
        at = as_utc(at) if at is not None else now
        last = await self.repos.ledger.last_at(None, account_id, at)
        return schemas.BalanceAt(
            balance=last["balance_after"] if last else 0,
            at=at,
            as_of_seq=last["seq"] if last else 0,
        )

    async def verify(self, account_id: str | None) -> schemas.VerifyReport:
        if account_id is not None and await self.repos.accounts.get(None, account_id) is None:
            raise AccountNotFound(f"account {account_id!r} not found")
        report = await verify(self.repos, account_id)
        return schemas.VerifyReport(
            ok=report.ok,
            accounts_checked=report.accounts_checked,
            problems=[schemas.VerifyProblem(**vars(p)) for p in report.problems],
        )

    async def access(
        self, account_id: str, cost: int, meter: str | None = None, quantity: int = 1
    ) -> schemas.AccessDecision:
        """Whether the account may spend `cost` credits now; with a meter, the cost is what
        `quantity` of it would be charged now (its rate, after the account's remainder)."""
        now = self.clock.now()
        account = await load_account(self.repos, account_id, now)
        usage = None
        if meter is not None:
            priced = self.rates_card.price(
                account, Carried.of(account), meter, quantity, None, now, where="query"
            )
            cost, usage = priced.amount, priced.usage
        reason = access_reason(account, cost, now)
        return schemas.AccessDecision(
            allowed=reason == "ok",
            reason=reason,
            available=available(account),
            cost=cost,
            usage=schemas.MeteredUsage.model_validate(usage) if usage else None,
        )

    async def reservation(self, reservation_id: str) -> schemas.Reservation:
        now = self.clock.now()
        found = await find_reservation(None, self.repos, reservation_id)
        if found["status"] == "held" and as_utc(found["expires_at"]) <= now:
            await expire_now(self.repos, found["account_id"], now)
            found = await find_reservation(None, self.repos, reservation_id, found["account_id"])
        return reservation_view(found)

    # Writes: each runs once per Idempotency-Key, in one transaction with its stored answer.

    async def debit(
        self, account_id: str, req: schemas.DebitCreate, key: str, actor: str
    ) -> Outcome:
        async def write(session: Session, now: datetime, cost: Cost) -> dict[str, Any]:
            entry, after = await debit_credits(
                session,
                self.repos,
                account_id,
                cost.amount,
                now,
                by=Attribution("api", key, actor, req.description, req.metadata),
                usage=cost.usage,
                remainders=cost.remainders,
            )
            return _entry_with_account(entry, after, now)

        return await self._spend("debit", account_id, req, key, actor, write)

    async def reserve(
        self, account_id: str, req: schemas.ReservationCreate, key: str, actor: str
    ) -> Outcome:
        async def write(session: Session, now: datetime, cost: Cost) -> dict[str, Any]:
            reservation = await reserve_credits(
                session,
                self.repos,
                account_id,
                cost.amount,
                req.ttl_seconds,
                now,
                by=Attribution("api", key, actor, req.description, req.metadata),
                max_held=self.max_held,
                usage=cost.usage,
                remainders=cost.remainders,
            )
            return reservation_view(reservation).model_dump(mode="json")

        return await self._spend("reserve", account_id, req, key, actor, write)

    async def _spend(
        self,
        operation: str,
        account_id: str,
        req: schemas.DebitCreate | schemas.ReservationCreate,
        key: str,
        actor: str,
        write: Callable[[Session, datetime, Cost], Awaitable[dict[str, Any]]],
    ) -> Outcome:
        """A debit or hold, once per key: by amount through group commit when there is one,
        else (and by meter) `write` in a unit of its own with what it costs."""
        check_caller_key(key)  # every caller's key: the API's header and the console's forms
        now = self.clock.now()
        if self.group is not None and req.meter is None:  # usage by meter: priced alone
            return await self._grouped(operation, account_id, req, key, actor, now)

        async def work(session):
            # Priced inside, after the replay check: a retry keeps its first price, whatever
            # the card or the time says by then.
            return await write(session, now, await self._priced(session, account_id, req, now))

        return await self._once(account_id, key, operation, req.request(), now, work, 201)

    def rates(self) -> schemas.RateCardView:
        return self.rates_card.card(self.clock.now())

    async def account_rates(self, account_id: str) -> schemas.AccountRates:
        now = self.clock.now()
        return self.rates_card.for_account(await load_account(self.repos, account_id, now), now)

    async def usage(self, batch: batch_schemas.UsageBatch, actor: str) -> dict[str, Any]:
        """A batch of usage records, each a debit under its own key (see usage_batch.py),
        answered as batch_schemas.UsageBatchResult (JSON values)."""
        now = self.clock.now()

        def answers() -> Answer:
            shown_of: dict[str, dict[str, Any]] = {}  # each account as one run of a unit left it

            def answer(entry: EntryDoc, after: Doc) -> dict[str, Any]:
                # A single debit's answer; the account is shown once per run of a unit, then
                # each record's balance on it (the records of a unit differ only in that).
                shown = shown_of.get(after["_id"])
                if shown is None:
                    shown = shown_of[after["_id"]] = account_json(after, now)
                account = {
                    **shown,
                    "balance": after["balance"],
                    "available": after["balance"] - after["reserved"],
                }
                return {"entry": entry_json(entry), "account": account}

            return answer

        return await apply_batch(
            self.repos, self.rates_card, batch.records, now, actor=actor, answers=answers
        )

    async def _priced(
        self,
        session,
        account_id: str,
        req: schemas.SpendRequest,
        now: datetime,
    ) -> Cost:
        """What a debit or hold costs: its amount, or its meter and quantity priced for the
        account (read first in the unit: its plan and remainders)."""
        if req.meter is None or req.quantity is None:
            assert req.amount is not None  # the schema's rule: an amount, or a meter and quantity
            return Cost(req.amount)
        account = await self.repos.accounts.get(session, account_id)
        if account is None:
            raise AccountNotFound(f"account {account_id!r} not found")
        carried = Carried.of(account)
        priced = self.rates_card.price(
            account, carried, req.meter, req.quantity, req.occurred_at, now
        )
        carried.put(req.meter, priced.remainder)
        return Cost(priced.amount, priced.usage, carried.changes())

    async def _grouped(
        self,
        operation: str,
        account_id: str,
        req: schemas.DebitCreate | schemas.ReservationCreate,
        key: str,
        actor: str,
        now: datetime,
    ) -> Outcome:
        """A debit or hold through group commit: its key looked up alone, then applied in the
        account's next unit of work, with the requests that arrive beside it."""
        group = self.group
        assert group is not None and req.amount is not None  # usage by meter is priced alone
        print_ = fingerprint(operation, req.request())
        spend = Spend(
            kind="hold" if operation == "reserve" else "debit",
            account_id=account_id,
            amount=req.amount,
            now=now,
            key=key,
            fingerprint=print_,
            actor=actor,
            description=req.description,
            metadata=req.metadata,
            # (getattr with a default goes through pydantic's slow miss on a debit)
            ttl_seconds=req.ttl_seconds if isinstance(req, schemas.ReservationCreate) else 0,
        )
        return await idempotently(self.repos, account_id, key, print_, lambda: group.submit(spend))

    async def capture(
        self, reservation_id: str, req: schemas.CaptureCreate, key: str, actor: str
    ) -> Outcome:
        check_caller_key(key)  # every caller's key: the API's header and the console's forms
        now = self.clock.now()
        request = {"reservation": reservation_id, **req.model_dump(mode="json")}
        print_ = fingerprint("capture", request)
        found = await find_reservation(None, self.repos, reservation_id)
        stored = await self._resolved_before(found, key, print_, now)
        if stored is not None:
            return stored
        captured = capture_amount(found, req.amount)  # refused before anything is written

        async def work(session):
            answers: dict = {}
            reservation, entry = await capture_reservation(
                session,
                self.repos,
                found,
                captured,
                now,
                idempotency_key=key,
                actor=actor,
                replay=lambda hold, entry, after: _remember(
                    answers, key, print_, 200, _captured(hold, entry, after, now)
                ),
            )
            return answers["body"]

        return await run_idempotent(
            self.repos, found["account_id"], key, print_, now, work, 200, seen=False
        )

    async def release(self, reservation_id: str, key: str, actor: str) -> Outcome:
        check_caller_key(key)  # every caller's key: the API's header and the console's forms
        now = self.clock.now()
        print_ = fingerprint("release", {"reservation": reservation_id})
        found = await find_reservation(None, self.repos, reservation_id)
        stored = await self._resolved_before(found, key, print_, now)
        if stored is not None:
            return stored

        async def work(session):
            answers: dict = {}
            await release_reservation(
                session,
                self.repos,
                found,
                now,
                replay=lambda hold, *_: _remember(answers, key, print_, 200, _view(hold)),
            )
            return answers["body"]

        return await run_idempotent(
            self.repos, found["account_id"], key, print_, now, work, 200, seen=False
        )

    async def _resolved_before(
        self, found: ReservationDoc, key: str, print_: str, now: datetime
    ) -> Outcome | None:
        """A capture or release of a hold: answered from the hold when this key resolved it
        (one read, no transaction); refused when it is no longer held (after looking up the
        key, which may have been used for something else on the account). None: go on, the
        key is new (a use elsewhere on the account shows as a duplicate key at the end)."""
        stored = found.get("replay")
        if stored is not None and stored["key"] == key:
            return replayed({**stored, "fingerprint": found["fingerprint"]}, print_)
        if found["status"] == "held":
            return None
        record = await self.repos.idempotency.get(None, found["account_id"], key)
        if record is not None:
            return replayed(record, print_)
        refuse_resolved(found, now)
        return None

    async def grant(
        self, account_id: str, req: schemas.GrantCreate, key: str, actor: str
    ) -> Outcome:
        async def work(session: Session, now: datetime) -> dict[str, Any]:
            # Checked here, after the replay check: an exact retry gets the first answer even
            # once the time it named has passed.
            if req.expires_at is not None and as_utc(req.expires_at) <= now:
                raise invalid_field("body", "expires_at", "must be in the future")
            by = Attribution("api", key, actor, req.description, req.metadata)
            grant = NewGrant(account_id, req.amount, req.kind, req.expires_at, by, request_key=True)
            return await self._granted(session, grant, now)

        return await self._create(account_id, key, "grant", req, work)

    async def _granted(self, session: Session, grant: NewGrant, now: datetime) -> dict[str, Any]:
        entry, after = _written(await grant_credits(session, self.repos, grant, now))
        return _entry_with_account(entry, after, now)

    async def adjust(
        self, account_id: str, req: schemas.AdjustmentCreate, key: str, actor: str
    ) -> Outcome:
        by = Attribution("adjustment", key, actor, req.reason, req.metadata)

        async def work(session: Session, now: datetime) -> dict[str, Any]:
            account = await self.repos.accounts.get(session, account_id)
            if account is None:
                raise AccountNotFound(f"account {account_id!r} not found")
            if is_due(account, now):  # a correction comes after what was due
                await expire_due(session, self.repos, account_id, now)
                account = known(await self.repos.accounts.get(session, account_id), account_id)
            if req.amount > 0:
                grant = NewGrant(
                    account_id,
                    req.amount,
                    "correction",
                    by=by,
                    entry_type="adjustment",
                    request_key=True,
                )
                return await self._granted(session, grant, now)
            taken = await take_back(
                session,
                self.repos,
                account,
                -req.amount,
                now,
                entry_type="adjustment",
                by=by,
                request_key=True,
            )
            entry, after = _written(taken)
            return _entry_with_account(entry, after, now)

        return await self._create(account_id, key, "adjust", req, work)

    async def void_grant(
        self, grant_id: str, req: schemas.GrantVoid, key: str, actor: str
    ) -> Outcome:
        async def work(session: Session, account_id: str, now: datetime) -> dict[str, Any]:
            grant, entry = await void_grant(
                session,
                self.repos,
                account_id,
                grant_id,
                now,
                reason=req.reason,
                actor=actor,
                idempotency_key=key,
            )
            after = known(await self.repos.accounts.get(session, account_id), account_id)
            return schemas.GrantVoided(
                grant=grant_view(grant),
                entry=entry_view(entry) if entry else None,
                account=account_view(after, now),
            ).model_dump(mode="json")

        return await self._on_grant(grant_id, key, "void_grant", req, work)

    async def update_grant(
        self, grant_id: str, req: schemas.GrantUpdate, key: str, actor: str
    ) -> Outcome:
        async def work(session: Session, account_id: str, now: datetime) -> dict[str, Any]:
            # Checked inside, after the replay check: an exact retry gets the first answer
            # even once the time it named has passed.
            grant = await change_expiry(
                session,
                self.repos,
                account_id,
                grant_id,
                req.expires_at,
                now,
                reason=req.reason,
                actor=actor,
            )
            after = known(await self.repos.accounts.get(session, account_id), account_id)
            return schemas.GrantWithAccount(
                grant=grant_view(grant), account=account_view(after, now)
            ).model_dump(mode="json")

        return await self._on_grant(grant_id, key, "update_grant", req, work)

    async def update_account(
        self, account_id: str, req: schemas.AccountUpdate, key: str | None
    ) -> Outcome:
        """Name, email, metadata. Setting values is safe to repeat, so the Idempotency-Key
        is optional; with one, a retry replays the first answer like any write."""
        if key is not None:
            check_caller_key(key)
        now = self.clock.now()
        changes = req.model_dump(mode="json", exclude_unset=True)
        # The answer is the account: without the credits that are due to expire.
        await load_account(self.repos, account_id, now)

        async def work(session):
            after = await update_profile(session, self.repos, account_id, changes, now)
            return account_view(after, now).model_dump(mode="json")

        if key is None:
            return Outcome(200, await self.repos.db.transaction(work), replayed=False)
        return await self._once(account_id, key, "update_account", changes, now, work, 200)

    async def _create(
        self,
        account_id: str,
        key: str,
        operation: str,
        req: BaseModel,
        work: Callable[[Session, datetime], Awaitable[dict[str, Any]]],
    ) -> Outcome:
        """A POST that makes something (201), once per Idempotency-Key."""
        check_caller_key(key)  # every caller's key: the API's header and the console's forms
        now = self.clock.now()
        request = req.model_dump(mode="json")
        return await self._once(
            account_id, key, operation, request, now, lambda session: work(session, now), 201
        )

    async def _on_grant(
        self,
        grant_id: str,
        key: str,
        operation: str,
        req: BaseModel,
        work: Callable[[Session, str, datetime], Awaitable[dict[str, Any]]],
    ) -> Outcome:
        """A change to an existing grant (200), once per key on the grant's account."""
        check_caller_key(key)  # every caller's key: the API's header and the console's forms
        now = self.clock.now()
        account_id = (await find_grant(None, self.repos, grant_id))["account_id"]
        request = {"grant": grant_id, **req.model_dump(mode="json")}

        async def unit(session: Session) -> dict[str, Any]:
            return await work(session, account_id, now)

        return await self._once(account_id, key, operation, request, now, unit, 200)

    async def _once(self, account_id, key, operation, request, now, work, status) -> Outcome:
        return await run_idempotent(
            self.repos, account_id, key, fingerprint(operation, request), now, work, status
        )


def _entry_with_account(entry, after, now) -> dict:
    return schemas.EntryWithAccount(
        entry=entry_view(entry), account=account_view(after, now)
    ).model_dump(mode="json")


def _remember(answers: dict, key: str, print_: str, status: int, body: dict) -> dict:
    """The answer a retry of this request gets, kept on the hold it resolved."""
    answers["body"] = body
    return {"key": key, "fingerprint": print_, "status": status, "body": body}


def _captured(hold, entry, after, now) -> dict:
    return schemas.CaptureResult(
        reservation=reservation_view(hold),
        entry=entry_view(entry),
        account=account_view(after, now),
    ).model_dump(mode="json")


def _view(hold) -> dict:
    return reservation_view(hold).model_dump(mode="json")


def _written(result: tuple[EntryDoc, AccountDoc] | None) -> tuple[EntryDoc, AccountDoc]:
    """A request's own key is never looked up (request_key=True): the write always happens."""
    if result is None:
        raise RuntimeError("a write under the request's own key was taken for a duplicate")
    return result
