"""Usage batchers: a worker adds each usage as it happens; the batcher sends them in one
POST /v1/usage when `max_records` are waiting or the oldest has waited `max_wait` seconds. Each
record is stamped with its time and key when added, so a late flush prices it at its own time
and a resend after a failure debits it once. Written by hand for both flavours (a timer task,
a timer thread): unasync cannot make one from the other."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from credit_ledger_client import _calls as calls
from credit_ledger_client import _models as m

if TYPE_CHECKING:
    from credit_ledger_client._async import AsyncCreditLedger
    from credit_ledger_client._sync import CreditLedger

OnResults = Callable[[m.UsageBatchResult], Any]


def usage_record(
    account_id: str,
    amount: int | None,
    meter: str | None,
    quantity: int | None,
    occurred_at: datetime | None,
    idempotency_key: str | None,
    description: str | None,
    metadata: dict[str, Any] | None,
) -> dict[str, Any]:
    # Usage by meter is priced at its time: stamped now, not when the batch goes.
    stamped = occurred_at or (datetime.now(UTC) if meter is not None else None)
    record = {
        "account_id": account_id,
        "idempotency_key": idempotency_key or calls.new_key(),
        **calls.spend(amount, meter, quantity, stamped),
    }
    if description is not None:
        record["description"] = description
    if metadata:
        record["metadata"] = metadata
    return record


class AsyncUsageBatcher:
    """`async with ledger.batcher(max_records=1000, max_wait=1.0) as usage:
    await usage.add("user_42", meter="image.1024px", quantity=1)`. Results of flushes made by
    size or time go to `on_results`; `flush()` returns its own. A failed send keeps its records
    (their keys make a resend safe) and raises from the next add, flush or exit."""

    def __init__(
        self,
        ledger: AsyncCreditLedger,
        *,
        max_records: int = calls.MAX_BATCH,
        max_wait: float = 1.0,
        on_results: OnResults | None = None,
    ) -> None:
        if not 1 <= max_records <= calls.MAX_BATCH:
            raise ValueError(f"max_records is 1 to {calls.MAX_BATCH}")
        self._ledger = ledger
        self.max_records, self.max_wait = max_records, max_wait
        self._on_results = on_results
        self._pending: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self._sleep = asyncio.sleep  # how the oldest record waits (tests put a gate here)
        self._timer: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def add(
        self,
        account_id: str,
        amount: int | None = None,
        *,
        meter: str | None = None,
        quantity: int | None = None,
        occurred_at: datetime | None = None,
        idempotency_key: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._raise_failure()
        self._pending.append(
            usage_record(
                account_id, amount, meter, quantity, occurred_at, idempotency_key,
                description, metadata,
            )
        )  # fmt: skip
        if len(self._pending) >= self.max_records:
            await self._flush_by_rule()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._flush_after_wait())

    async def flush(self) -> m.UsageBatchResult | None:
        """Send what is waiting now (None when nothing is)."""
        self._raise_failure()
        self._stop_timer()
        async with self._lock:
            if not self._pending:
                return None
            records = self._pending[: self.max_records]
            del self._pending[: len(records)]
            try:
                return await self._ledger.usage(records)
            except BaseException:
                self._pending[:0] = records  # kept, in order: their keys make a resend safe
                raise

    async def _flush_by_rule(self) -> None:
        while True:
            result = await self.flush()
            if result is not None and self._on_results is not None:
                self._on_results(result)
            if len(self._pending) < self.max_records:
                break
        if self._pending and self._timer is None:
            self._timer = asyncio.create_task(self._flush_after_wait())

    async def _flush_after_wait(self) -> None:
        await self._sleep(self.max_wait)
        self._timer = None  # this task is ending: flush() must not cancel it
        try:
            await self._flush_by_rule()
        except Exception as failure:  # noqa: BLE001 - handed to the next caller
            self._failure = failure

    def _stop_timer(self) -> None:
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self._timer = None

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    async def __aenter__(self) -> AsyncUsageBatcher:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._stop_timer()
        if exc_type is None:  # the block's own exception matters more than sending
            while self._pending:
                await self._flush_by_rule()


class UsageBatcher:
    """The sync batcher: the same rules, its time flush on a timer thread."""

    def __init__(
        self,
        ledger: CreditLedger,
        *,
        max_records: int = calls.MAX_BATCH,
        max_wait: float = 1.0,
        on_results: OnResults | None = None,
    ) -> None:
        if not 1 <= max_records <= calls.MAX_BATCH:
            raise ValueError(f"max_records is 1 to {calls.MAX_BATCH}")
        self._ledger = ledger
        self.max_records, self.max_wait = max_records, max_wait
        self._on_results = on_results
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._failure: BaseException | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(
        self,
        account_id: str,
        amount: int | None = None,
        *,
        meter: str | None = None,
        quantity: int | None = None,
        occurred_at: datetime | None = None,
        idempotency_key: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._raise_failure()
        record = usage_record(
            account_id, amount, meter, quantity, occurred_at, idempotency_key,
            description, metadata,
        )  # fmt: skip
        with self._lock:
            self._pending.append(record)
            full = len(self._pending) >= self.max_records
            if not full and self._timer is None:
                self._timer = threading.Timer(self.max_wait, self._flush_after_wait)
                self._timer.daemon = True
                self._timer.start()
        if full:
            self._flush_by_rule()

    def flush(self) -> m.UsageBatchResult | None:
        self._raise_failure()
        with self._lock:
            if self._timer is not None and self._timer is not threading.current_thread():
                self._timer.cancel()
            self._timer = None
            if not self._pending:
                return None
            records = self._pending[: self.max_records]
            del self._pending[: len(records)]
            try:
                return self._ledger.usage(records)
            except BaseException:
                self._pending[:0] = records
                raise

    def _flush_by_rule(self) -> None:
        while True:
            result = self.flush()
            if result is not None and self._on_results is not None:
                self._on_results(result)
            if len(self._pending) < self.max_records:
                break
        with self._lock:
            if self._pending and self._timer is None:
                self._timer = threading.Timer(self.max_wait, self._flush_after_wait)
                self._timer.daemon = True
                self._timer.start()

    def _flush_after_wait(self) -> None:
        with self._lock:
            self._timer = None  # this thread is the timer: flush() must not cancel it
        try:
            self._flush_by_rule()
        except Exception as failure:  # noqa: BLE001 - handed to the next caller
            self._failure = failure

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def __enter__(self) -> UsageBatcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            while self._pending:
                self.flush()
        elif self._timer is not None:
            self._timer.cancel()
