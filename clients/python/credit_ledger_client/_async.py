"""AsyncCreditLedger: the async client, and its hold context manager."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx

from credit_ledger_client import _calls as calls
from credit_ledger_client import _models as m
from credit_ledger_client._errors import CreditLedgerError

T = TypeVar("T")


class AsyncCreditLedger:
    """`AsyncCreditLedger(base_url, api_key)`; use as `async with` or call `aclose()`."""

    def __init__(
        self,
        base_url: str = "",
        api_key: str = "",
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.25,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._own = http_client is None
        self._http = http_client or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
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
                result = calls.outcome(call, response)
                retry = calls.retryable(result)
            except httpx.TransportError as error:  # connect, read or write failed
                result, retry = calls.unreachable(error), True
            if retry and attempt < self._retry.max_retries:
                await self._sleep(self._retry.delay(attempt))
                attempt += 1
                continue
            if isinstance(result, CreditLedgerError):
                raise result
            return result

    # Reads

    async def account(self, account_id: str) -> m.Account:
        return await self._run(calls.account(account_id))

    async def access(self, account_id: str, cost: int = 1) -> m.AccessDecision:
        return await self._run(calls.access(account_id, cost))

    async def grants(self, account_id: str) -> list[m.Grant]:
        return await self._run(calls.grants(account_id))

    async def ledger(
        self,
        account_id: str,
        *,
        limit: int = 20,
        starting_after: str | None = None,
        type: str | None = None,
    ) -> m.LedgerPage:  # noqa: A002
        return await self._run(calls.ledger(account_id, limit, starting_after, type))

    async def reservation(self, reservation_id: str) -> m.Reservation:
        return await self._run(calls.reservation(reservation_id))

    # Writes: each call makes one Idempotency-Key (or takes yours) and retries with it.

    async def debit(
        self,
        account_id: str,
        amount: int,
        *,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.EntryResult:
        return await self._run(
            calls.debit(account_id, amount, description, metadata, idempotency_key)
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
        amount: int,
        *,
        ttl_seconds: int | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.Reservation:
        return await self._run(
            calls.reserve(account_id, amount, ttl_seconds, description, metadata, idempotency_key)
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
        credits: int,
        *,
        ttl_seconds: int | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        on_exit: Literal["capture", "release"] = "capture",
    ) -> AsyncHold:
        """`async with ledger.hold(account, 20) as hold: ...; await hold.capture(n)`."""
        return AsyncHold(self, account_id, credits, ttl_seconds, description, metadata, on_exit)


class AsyncHold:
    """Credits held for the length of a block: released if it raises; captured in full (or
    released, with on_exit="release") if it ends without capturing or releasing."""

    def __init__(
        self,
        ledger: AsyncCreditLedger,
        account_id: str,
        credits: int,
        ttl_seconds: int | None,
        description: str | None,
        metadata: dict[str, Any] | None,
        on_exit: str,
    ) -> None:
        self._ledger = ledger
        self._request = (account_id, credits, ttl_seconds, description, metadata)
        self._on_exit = on_exit
        self.reservation: m.Reservation | None = None
        self.result: m.CaptureResult | None = None
        self._done = False

    @property
    def id(self) -> str:
        assert self.reservation is not None, "the hold has not started"
        return self.reservation.id

    async def __aenter__(self) -> AsyncHold:
        account_id, credits, ttl, description, metadata = self._request
        self.reservation = await self._ledger.reserve(
            account_id, credits, ttl_seconds=ttl, description=description, metadata=metadata
        )
        return self

    async def capture(self, amount: int | None = None) -> m.CaptureResult:
        """Spend `amount` (default: all of it); the rest goes back at once."""
        self.result = await self._ledger.capture(self.id, amount)
        self.reservation, self._done = self.result.reservation, True
        return self.result

    async def release(self) -> m.Reservation:
        self.reservation = await self._ledger.release(self.id)
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
        with contextlib.suppress(CreditLedgerError):
            await self.release()
