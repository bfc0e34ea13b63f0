"""CreditLedger: the sync client, and its hold context manager. Made from _async.py by
unasync (`make client-sync`): edit that file, then run it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx

from credit_ledger_client import _calls as calls
from credit_ledger_client import _models as m
from credit_ledger_client._errors import ConnectionFailed, CreditLedgerError
from credit_ledger_client._sync_batching import UsageBatcher

T = TypeVar("T")


class CreditLedger:
    """`CreditLedger(base_url, api_key)`, by default CREDIT_LEDGER_URL and
    CREDIT_LEDGER_API_KEY; use as `with` or call `close()`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.25,
        http_client: httpx.Client | None = None,
        sleep: calls.Sleep = time.sleep,
    ) -> None:
        url, key = calls.base_url_and_key(base_url, api_key, http_client is not None)
        self._own = http_client is None
        self._http = http_client or httpx.Client(base_url=url, timeout=timeout)
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
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
            self._sleep(self._retry.delay(attempt))
            attempt += 1

    def _every(self, page: Callable[[str | None], calls.Call[Any]]) -> Iterator[Any]:
        """Each item of every page, fetched a page at a time as the caller reads on."""
        cursor = None
        while True:
            found = self._run(page(cursor))
            yield from found.data
            if not found.has_more or not found.next_cursor:
                return
            cursor = found.next_cursor

    # Reads

    def account(self, account_id: str) -> m.Account:
        return self._run(calls.account(account_id))

    def access(
        self,
        account_id: str,
        cost: int = 1,
        *,
        meter: str | None = None,
        quantity: int | None = None,
    ) -> m.AccessDecision:
        """May the account spend `cost` credits now, or `quantity` of `meter` (the answer's
        `cost` is then what it would be charged now)."""
        return self._run(calls.access(account_id, cost, meter, quantity or 1))

    def grants(self, account_id: str) -> list[m.Grant]:
        """Every grant of the account (all pages)."""
        return [grant for grant in self.iter_grants(account_id)]

    def iter_grants(self, account_id: str, *, page_size: int = 100) -> Iterator[m.Grant]:
        return self._every(lambda cursor: calls.grants(account_id, page_size, cursor))

    def ledger(
        self,
        account_id: str,
        *,
        limit: int = 20,
        starting_after: str | None = None,
        type: str | None = None,
    ) -> m.LedgerPage:  # noqa: A002
        return self._run(calls.ledger(account_id, limit, starting_after, type))

    def iter_ledger(
        self, account_id: str, *, type: str | None = None, page_size: int = 100
    ) -> Iterator[m.LedgerEntry]:  # noqa: A002
        """Every entry of the account's ledger, newest first, page after page."""
        return self._every(lambda cursor: calls.ledger(account_id, page_size, cursor, type))

    def iter_events(
        self, account_id: str | None = None, *, type: str | None = None, page_size: int = 100
    ) -> Iterator[m.Event]:  # noqa: A002
        """Every recorded event (one account's, or all), oldest first, page after page."""
        return self._every(lambda cursor: calls.events(account_id, type, page_size, cursor))

    def reservation(self, reservation_id: str) -> m.Reservation:
        return self._run(calls.reservation(reservation_id))

    # Writes: each call makes one Idempotency-Key (or takes yours) and retries with it.

    def debit(
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
        return self._run(calls.debit(account_id, spent, description, metadata, idempotency_key))

    def usage(self, records: list[dict[str, Any]]) -> m.UsageBatchResult:
        """Send up to 1,000 usage records at once (`{account_id, idempotency_key, amount or
        meter and quantity, occurred_at?, ...}`); each is answered on its own. A batch that
        failed in transit is safe to send again: each record's key makes it once."""
        return self._run(calls.usage(records))

    def batcher(
        self,
        *,
        max_records: int = calls.MAX_BATCH,
        max_wait: float = 1.0,
        on_results: calls.OnResults | None = None,
    ) -> UsageBatcher:
        """Usage added one by one, sent in batches of `max_records`, or after `max_wait`
        seconds, whichever comes first: `with ledger.batcher() as usage:
        usage.add(account, meter="image.1024px", quantity=1)`."""
        return UsageBatcher(self, max_records=max_records, max_wait=max_wait, on_results=on_results)

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
        return self._run(
            calls.reserve(account_id, spent, ttl_seconds, description, metadata, idempotency_key)
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
        credits: int | None = None,
        *,
        meter: str | None = None,
        quantity: int | None = None,
        idempotency_key: str | None = None,
        ttl_seconds: int | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        on_exit: Literal["release", "capture"] = "release",
    ) -> Hold:
        """`with ledger.hold(account, 20, idempotency_key=job.id) as hold: ...;
        hold.capture(n)`. Give the job's own id as the key: a redelivered job then
        replays the hold and its capture instead of charging twice."""
        keys = calls.hold_keys(idempotency_key)
        spent = calls.spend(credits, meter, quantity, None)
        return Hold(self, account_id, spent, ttl_seconds, description, metadata, on_exit, keys)


class Hold:
    """Credits held for the length of a block: released if it raises, and released if it
    ends without capturing or releasing (captured in full instead with on_exit="capture")."""

    def __init__(
        self,
        ledger: CreditLedger,
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

    def __enter__(self) -> Hold:
        account_id, spent, ttl, description, metadata = self._request
        self.reservation = self._ledger.reserve(
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

    def capture(self, amount: int | None = None) -> m.CaptureResult:
        """Spend `amount` (default: all of it); the rest goes back at once."""
        self.result = self._ledger.capture(self.id, amount, idempotency_key=self._capture_key)
        self.reservation, self._done = self.result.reservation, True
        return self.result

    def release(self) -> m.Reservation:
        self.reservation = self._ledger.release(self.id, idempotency_key=self._release_key)
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
        with contextlib.suppress(CreditLedgerError, ConnectionFailed):
            self.release()
