"""AsyncCreditLedger: the async client, and its hold context manager. _sync.py is made from
this file by unasync (`make client-sync`): edit here, then run it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx

from credit_ledger_client import _calls as calls
from credit_ledger_client import _models as m
from credit_ledger_client._async_batching import AsyncUsageBatcher
from credit_ledger_client._errors import ConnectionFailed, CreditLedgerError

T = TypeVar("T")


class AsyncCreditLedger:
    """`AsyncCreditLedger(base_url, api_key)`, by default CREDIT_LEDGER_URL and
    CREDIT_LEDGER_API_KEY; use as `async with` or call `aclose()`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.25,
        http_client: httpx.AsyncClient | None = None,
        sleep: calls.AsyncSleep = asyncio.sleep,
    ) -> None:
        url, key = calls.base_url_and_key(base_url, api_key, http_client is not None)
        self._own = http_client is None
        self._http = http_client or httpx.AsyncClient(base_url=url, timeout=timeout)
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._retry = calls.RetryPolicy(max_retries, backoff)
        self._sleep = sleep

    async def __aenter__(self) -> AsyncCreditLedger:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own:
            await self._http.aclose()

    async def _run(self, call: calls.Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    call.method,
                    call.path,
                    json=call.json,
                    params=call.params,
                    headers={**self._headers, **call.headers()},
                )
            except httpx.TransportError as error:  # connect, read or write failed
                if attempt >= self._retry.max_retries:
                    target = calls.target(self._http, call)
                    raise ConnectionFailed(target, attempt + 1, error) from error
            else:
                result = calls.outcome(call, response)
                if not calls.retryable(result) or attempt >= self._retry.max_retries:
                    if isinstance(result, CreditLedgerError):
                        raise result
                    return result
            await self._sleep(self._retry.delay(attempt))
            attempt += 1

    async def _every(self, page: Callable[[str | None], calls.Call[Any]]) -> AsyncIterator[Any]:
        """Each item of every page, fetched a page at a time as the caller reads on."""
        cursor = None
        while True:
            found = await self._run(page(cursor))
            for item in found.data:
                yield item
            if not found.has_more or not found.next_cursor:
                return
            cursor = found.next_cursor

    # Reads

    async def account(self, account_id: str) -> m.Account:
        return await self._run(calls.account(account_id))

    async def access(
        self,
        account_id: str,
        cost: int = 1,
        *,
        meter: str | None = None,
        quantity: int | None = None,
    ) -> m.AccessDecision:
        """May the account spend `cost` credits now, or `quantity` of `meter` (the answer's
        `cost` is then what it would be charged now)."""
        return await self._run(calls.access(account_id, cost, meter, quantity or 1))

    async def grants(self, account_id: str) -> list[m.Grant]:
        """Every grant of the account (all pages)."""
        return [grant async for grant in self.iter_grants(account_id)]

    def iter_grants(self, account_id: str, *, page_size: int = 100) -> AsyncIterator[m.Grant]:
        return self._every(lambda cursor: calls.grants(account_id, page_size, cursor))

    async def ledger(
        self,
        account_id: str,
        *,
        limit: int = 20,
        starting_after: str | None = None,
        type: str | None = None,
    ) -> m.LedgerPage:  # noqa: A002
        return await self._run(calls.ledger(account_id, limit, starting_after, type))

    def iter_ledger(
        self, account_id: str, *, type: str | None = None, page_size: int = 100
    ) -> AsyncIterator[m.LedgerEntry]:  # noqa: A002
        """Every entry of the account's ledger, newest first, page after page."""
        return self._every(lambda cursor: calls.ledger(account_id, page_size, cursor, type))

    def iter_events(
        self, account_id: str | None = None, *, type: str | None = None, page_size: int = 100
    ) -> AsyncIterator[m.Event]:  # noqa: A002
        """Every recorded event (one account's, or all), oldest first, page after page."""
        return self._every(lambda cursor: calls.events(account_id, type, page_size, cursor))

    async def reservation(self, reservation_id: str) -> m.Reservation:
        return await self._run(calls.reservation(reservation_id))

    # Writes: each call makes one Idempotency-Key (or takes yours) and retries with it.

    async def debit(
        self,
        account_id: str,
        amount: int | None = None,
        *,
        meter: str | None = None,
        quantity: int | None = None,
        occurred_at: datetime | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.EntryResult:
        """Spend `amount` credits, or report `quantity` of `meter` (priced by the service's
        rate card at `occurred_at`, default now)."""
        spent = calls.spend(amount, meter, quantity, occurred_at)
        return await self._run(
            calls.debit(account_id, spent, description, metadata, idempotency_key)
        )

    async def usage(self, records: list[dict[str, Any]]) -> m.UsageBatchResult:
        """Send up to 1,000 usage records at once (`{account_id, idempotency_key, amount or
        meter and quantity, occurred_at?, ...}`); each is answered on its own. A batch that
        failed in transit is safe to send again: each record's key makes it once."""
        return await self._run(calls.usage(records))

    def batcher(
        self,
        *,
        max_records: int = calls.MAX_BATCH,
        max_wait: float = 1.0,
        on_results: calls.OnResults | None = None,
    ) -> AsyncUsageBatcher:
        """Usage added one by one, sent in batches of `max_records`, or after `max_wait`
        seconds, whichever comes first: `async with ledger.batcher() as usage: await
        usage.add(account, meter="image.1024px", quantity=1)`."""
        return AsyncUsageBatcher(
            self, max_records=max_records, max_wait=max_wait, on_results=on_results
        )

    async def grant(
        self,
        account_id: str,
        amount: int,
        *,
        description: str,
        kind: str = "bonus",
        expires_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.EntryResult:
        return await self._run(
            calls.grant(
                account_id, amount, kind, description, expires_at, metadata, idempotency_key
            )
        )

    async def adjust(
        self,
        account_id: str,
        amount: int,
        *,
        reason: str,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.EntryResult:
        return await self._run(calls.adjust(account_id, amount, reason, metadata, idempotency_key))

    async def reserve(
        self,
        account_id: str,
        amount: int | None = None,
        *,
        meter: str | None = None,
        quantity: int | None = None,
        occurred_at: datetime | None = None,
        ttl_seconds: int | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.Reservation:
        spent = calls.spend(amount, meter, quantity, occurred_at)
        return await self._run(
            calls.reserve(account_id, spent, ttl_seconds, description, metadata, idempotency_key)
        )

    async def capture(
        self, reservation_id: str, amount: int | None = None, *, idempotency_key: str | None = None
    ) -> m.CaptureResult:
        return await self._run(calls.capture(reservation_id, amount, idempotency_key))

    async def release(
        self, reservation_id: str, *, idempotency_key: str | None = None
    ) -> m.Reservation:
        return await self._run(calls.release(reservation_id, idempotency_key))

    def hold(
        self,
        account_id: str,
        credits: int | None = None,
        *,
        meter: str | None = None,
        quantity: int | None = None,
        idempotency_key: str | None = None,
        ttl_seconds: int | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        on_exit: Literal["release", "capture"] = "release",
    ) -> AsyncHold:
        """`async with ledger.hold(account, 20, idempotency_key=job.id) as hold: ...;
        await hold.capture(n)`. Give the job's own id as the key: a redelivered job then
        replays the hold and its capture instead of charging twice."""
        keys = calls.hold_keys(idempotency_key)
        spent = calls.spend(credits, meter, quantity, None)
        return AsyncHold(self, account_id, spent, ttl_seconds, description, metadata, on_exit, keys)


class AsyncHold:
    """Credits held for the length of a block: released if it raises, and released if it
    ends without capturing or releasing (captured in full instead with on_exit="capture")."""

    def __init__(
        self,
        ledger: AsyncCreditLedger,
        account_id: str,
        spent: dict[str, Any],
        ttl_seconds: int | None,
        description: str | None,
        metadata: dict[str, Any] | None,
        on_exit: str,
        keys: tuple[str, str, str],
    ) -> None:
        self._ledger = ledger
        self._request = (account_id, spent, ttl_seconds, description, metadata)
        self._on_exit = on_exit
        self.idempotency_key, self._capture_key, self._release_key = keys
        self.reservation: m.Reservation | None = None
        self.result: m.CaptureResult | None = None
        self._done = False

    @property
    def id(self) -> str:
        assert self.reservation is not None, "the hold has not started"
        return self.reservation.id

    async def __aenter__(self) -> AsyncHold:
        account_id, spent, ttl, description, metadata = self._request
        self.reservation = await self._ledger.reserve(
            account_id,
            spent.get("amount"),
            meter=spent.get("meter"),
            quantity=spent.get("quantity"),
            ttl_seconds=ttl,
            description=description,
            metadata=metadata,
            idempotency_key=self.idempotency_key,
        )
        return self

    async def capture(self, amount: int | None = None) -> m.CaptureResult:
        """Spend `amount` (default: all of it); the rest goes back at once."""
        self.result = await self._ledger.capture(self.id, amount, idempotency_key=self._capture_key)
        self.reservation, self._done = self.result.reservation, True
        return self.result

    async def release(self) -> m.Reservation:
        self.reservation = await self._ledger.release(self.id, idempotency_key=self._release_key)
        self._done = True
        return self.reservation

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._done or self.reservation is None:
            return
        if exc_type is None:
            await (self.capture() if self._on_exit == "capture" else self.release())
            return
        # the block's own exception matters more; the hold's TTL gives it back anyway
        with contextlib.suppress(CreditLedgerError, ConnectionFailed):
            await self.release()
