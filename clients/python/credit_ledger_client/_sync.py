"""CreditLedger: the sync client, and its hold context manager (the async client's code
without async)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx

from credit_ledger_client import _calls as calls
from credit_ledger_client import _models as m
from credit_ledger_client._errors import CreditLedgerError

T = TypeVar("T")


class CreditLedger:
    """`CreditLedger(base_url, api_key)`; use as `with` or call `close()`."""

    def __init__(
        self,
        base_url: str = "",
        api_key: str = "",
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.25,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self._own = http_client is None
        self._http = http_client or httpx.Client(base_url=base_url, timeout=timeout)
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._retry = calls.RetryPolicy(max_retries, backoff)
        self._sleep = sleep

    def __enter__(self) -> CreditLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self._http.close()

    def _run(self, call: calls.Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self._http.request(
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
                self._sleep(self._retry.delay(attempt))
                attempt += 1
                continue
            if isinstance(result, CreditLedgerError):
                raise result
            return result

    # Reads

    def account(self, account_id: str) -> m.Account:
        return self._run(calls.account(account_id))

    def access(self, account_id: str, cost: int = 1) -> m.AccessDecision:
        return self._run(calls.access(account_id, cost))

    def grants(self, account_id: str) -> list[m.Grant]:
        return self._run(calls.grants(account_id))

    def ledger(
        self,
        account_id: str,
        *,
        limit: int = 20,
        starting_after: str | None = None,
        type: str | None = None,
    ) -> m.LedgerPage:  # noqa: A002
        return self._run(calls.ledger(account_id, limit, starting_after, type))

    def reservation(self, reservation_id: str) -> m.Reservation:
        return self._run(calls.reservation(reservation_id))

    # Writes: each call makes one Idempotency-Key (or takes yours) and retries with it.

    def debit(
        self,
        account_id: str,
        amount: int,
        *,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.EntryResult:
        return self._run(calls.debit(account_id, amount, description, metadata, idempotency_key))

    def grant(
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
        return self._run(
            calls.grant(
                account_id, amount, kind, description, expires_at, metadata, idempotency_key
            )
        )

    def adjust(
        self,
        account_id: str,
        amount: int,
        *,
        reason: str,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.EntryResult:
        return self._run(calls.adjust(account_id, amount, reason, metadata, idempotency_key))

    def reserve(
        self,
        account_id: str,
        amount: int,
        *,
        ttl_seconds: int | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.Reservation:
        return self._run(
            calls.reserve(account_id, amount, ttl_seconds, description, metadata, idempotency_key)
        )

    def capture(
        self, reservation_id: str, amount: int | None = None, *, idempotency_key: str | None = None
    ) -> m.CaptureResult:
        return self._run(calls.capture(reservation_id, amount, idempotency_key))

    def release(self, reservation_id: str, *, idempotency_key: str | None = None) -> m.Reservation:
        return self._run(calls.release(reservation_id, idempotency_key))

    def hold(
        self,
        account_id: str,
        credits: int,
        *,
        ttl_seconds: int | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        on_exit: Literal["capture", "release"] = "capture",
    ) -> Hold:
        """`with ledger.hold(account, 20) as hold: ...; hold.capture(n)`."""
        return Hold(self, account_id, credits, ttl_seconds, description, metadata, on_exit)


class Hold:
    """Credits held for the length of a block: released if it raises; captured in full (or
    released, with on_exit="release") if it ends without capturing or releasing."""

    def __init__(
        self,
        ledger: CreditLedger,
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

    def __enter__(self) -> Hold:
        account_id, credits, ttl, description, metadata = self._request
        self.reservation = self._ledger.reserve(
            account_id, credits, ttl_seconds=ttl, description=description, metadata=metadata
        )
        return self

    def capture(self, amount: int | None = None) -> m.CaptureResult:
        """Spend `amount` (default: all of it); the rest goes back at once."""
        self.result = self._ledger.capture(self.id, amount)
        self.reservation, self._done = self.result.reservation, True
        return self.result

    def release(self) -> m.Reservation:
        self.reservation = self._ledger.release(self.id)
        self._done = True
        return self.reservation

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._done or self.reservation is None:
            return
        if exc_type is None:
            (self.capture() if self._on_exit == "capture" else self.release())
            return
        # the block's own exception matters more; the hold's TTL gives it back anyway
        with contextlib.suppress(CreditLedgerError):
            self.release()
