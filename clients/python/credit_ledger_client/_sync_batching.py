"""UsageBatcher: the sync batcher, its time flush on a timer thread. Made from
_async_batching.py by unasync (`make client-sync`): edit that file, then run it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from credit_ledger_client import _calls as calls
from credit_ledger_client import _models as m
from credit_ledger_client._timers import SyncLock, SyncTimer

if TYPE_CHECKING:
    from credit_ledger_client._sync import CreditLedger


class UsageBatcher:
    """`with ledger.batcher(max_records=1000, max_wait=1.0) as usage:
    usage.add("user_42", meter="image.1024px", quantity=1)`. Results of flushes made by
    size, time or the end of the block go to `on_results`; `flush()` returns its own. A failed
    send keeps its records (their keys make a resend safe) and raises from the next add, flush
    or exit."""

    def __init__(
        self,
        ledger: CreditLedger,
        *,
        max_records: int = calls.MAX_BATCH,
        max_wait: float = 1.0,
        on_results: calls.OnResults | None = None,
    ) -> None:
        if not 1 <= max_records <= calls.MAX_BATCH:
            raise ValueError(f"max_records is 1 to {calls.MAX_BATCH}")
        self._ledger = ledger
        self.max_records, self.max_wait = max_records, max_wait
        self._on_results = on_results
        self._pending: list[dict[str, Any]] = []
        self._lock = SyncLock()  # one send at a time
        self._timer = SyncTimer(max_wait, self._flush_after_wait)
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
        self._pending.append(
            calls.usage_record(
                account_id, amount, meter, quantity, occurred_at, idempotency_key,
                description, metadata,
            )
        )  # fmt: skip
        if len(self._pending) >= self.max_records:
            self._flush_by_rule()
        else:
            self._timer.start()

    def flush(self) -> m.UsageBatchResult | None:
        """Send what is waiting now (None when nothing is)."""
        self._raise_failure()
        self._timer.cancel()
        with self._lock:
            if not self._pending:
                return None
            records = self._pending[: self.max_records]
            del self._pending[: len(records)]
            try:
                return self._ledger.usage(records)
            except BaseException:
                self._pending[:0] = records  # kept, in order: their keys make a resend safe
                raise

    def _flush_by_rule(self) -> None:
        while True:
            result = self.flush()
            if result is not None and self._on_results is not None:
                self._on_results(result)
            if len(self._pending) < self.max_records:
                break
        if self._pending:
            self._timer.start()

    def _flush_after_wait(self) -> None:
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
        self._timer.cancel()
        if exc_type is None:  # the block's own exception matters more than sending
            while self._pending:
                self._flush_by_rule()
