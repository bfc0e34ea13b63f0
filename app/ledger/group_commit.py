"""Group commit: concurrent debits and holds of one account in this process share one unit of
work (docs/design.md, "Group commit"). A request that finds its account idle runs at once,
alone; those that arrive while a unit of the account runs wait, and the next unit takes them
all (up to GROUP_COMMIT_MAX) in arrival order (spends.py applies each on its own)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from functools import partial

from pymongo.errors import BulkWriteError, DuplicateKeyError

from app.kit.errors import DomainError
from app.kit.metrics import Metrics
from app.ledger.expiry import after_expiry
from app.ledger.idempotency import KeyAhead, Outcome
from app.ledger.repository import Repositories
from app.ledger.spends import Result, Spend, apply_spends

log = logging.getLogger("app.ledger.group_commit")

# Requests per unit of work at most: its transaction writes about 2 documents per request (the
# entry or hold, the idempotency record), so 64 stay far inside MongoDB's limits, and a request
# that arrives behind a full batch waits for one unit, not for an unbounded one.
GROUP_COMMIT_MAX = 64
DUPLICATE_KEY = 11000

BATCHES = "credit_ledger_group_commits_total"
BATCHED = "credit_ledger_group_commit_requests_total"


@dataclass
class _Waiting:
    spend: Spend
    answer: asyncio.Future[Outcome]


class GroupCommit:
    def __init__(
        self,
        repos: Repositories,
        max_held: int,
        metrics: Metrics | None = None,
        *,
        limit: int = GROUP_COMMIT_MAX,
    ) -> None:
        self.repos = repos
        self.max_held = max_held
        self.metrics = metrics
        self.limit = limit
        # Accounts with a unit of work running in this process, and who waits for the next.
        self._queues: dict[str, deque[_Waiting]] = {}

    async def submit(self, spend: Spend) -> Outcome:
        """The request's answer; its refusal (a DomainError) or failure is raised."""
        queue = self._queues.get(spend.account_id)
        if queue is not None:
            waiting = _Waiting(spend, asyncio.get_running_loop().create_future())
            queue.append(waiting)
            return await waiting.answer
        self._queues[spend.account_id] = deque()
        try:
            (result,) = await self._run(spend.account_id, [spend])
        finally:
            self._next(spend.account_id, {spend.key})
        if isinstance(result, BaseException):
            raise result
        return result

    def _next(self, account_id: str, ahead: set[str]) -> None:
        """After a unit: the next one for those who arrived meanwhile, or the account is idle."""
        if self._queues[account_id]:
            asyncio.get_running_loop().create_task(self._drain(account_id, ahead))
        else:
            del self._queues[account_id]

    async def _drain(self, account_id: str, ahead: set[str]) -> None:
        queue = self._queues[account_id]
        batch: list[_Waiting] = []
        try:
            while queue:
                batch, later = self._form(queue, ahead)
                if batch:
                    results = await self._run(account_id, [w.spend for w in batch])
                    for waiting, result in zip(batch, results, strict=True):
                        _settle(waiting, result)
                for waiting in later:
                    _settle(waiting, KeyAhead(waiting.spend.key))
                ahead = {w.spend.key for w in batch}
                batch = []
        except BaseException as exc:  # cancelled (shutting down) or a bug: nobody waits forever
            for waiting in [*batch, *queue]:
                _settle(waiting, exc if isinstance(exc, Exception) else RuntimeError("stopped"))
            queue.clear()
            raise
        finally:
            del self._queues[account_id]

    def _form(
        self, queue: deque[_Waiting], ahead: set[str]
    ) -> tuple[list[_Waiting], list[_Waiting]]:
        """The next batch, in arrival order, up to the limit; and the requests whose key one
        ahead of them carries (this batch's or the last one's), settled after this batch."""
        batch: list[_Waiting] = []
        later: list[_Waiting] = []
        keys = set(ahead)
        while queue and len(batch) < self.limit:
            waiting = queue.popleft()
            if waiting.spend.key in keys:
                later.append(waiting)
            else:
                keys.add(waiting.spend.key)
                batch.append(waiting)
        return batch, later

    async def _run(self, account_id: str, spends: list[Spend]) -> list[Result | BaseException]:
        """One unit of work for `spends` (re-run whole on a write conflict by the driver).
        A key another process committed since its request looked it up makes the unit a
        duplicate (undone): those requests replay, and the others run again without them."""
        results: list[Result | BaseException | None] = [None] * len(spends)
        pending = list(range(len(spends)))
        while pending:
            batch = [spends[i] for i in pending]
            try:
                done = await after_expiry(
                    self.repos,
                    account_id,
                    max(s.now for s in batch),
                    partial(apply_spends, repos=self.repos, spends=batch, max_held=self.max_held),
                )
            except (DuplicateKeyError, BulkWriteError) as exc:
                if not _duplicate(exc):
                    raise
                stored = await self.repos.idempotency.stored_keys(
                    None, account_id, [s.key for s in batch]
                )
                if not stored:
                    for i in pending:
                        results[i] = exc
                    break
                for i in pending:
                    if spends[i].key in stored:
                        results[i] = KeyAhead(spends[i].key)
                pending = [i for i in pending if spends[i].key not in stored]
                continue
            except (DomainError, Exception) as exc:  # the unit failed for all of them
                for i in pending:
                    results[i] = exc
                break
            for i, result in zip(pending, done, strict=True):
                results[i] = result
            self._count(len(batch))  # units that committed, not their attempts
            break
        return [r if r is not None else RuntimeError("unanswered") for r in results]

    def _count(self, size: int) -> None:
        if self.metrics is not None:
            self.metrics.inc(BATCHES)
            for _ in range(size):
                self.metrics.inc(BATCHED)


def _duplicate(exc: Exception) -> bool:
    if isinstance(exc, DuplicateKeyError):
        return True
    errors = (getattr(exc, "details", None) or {}).get("writeErrors", [])
    return any(e.get("code") == DUPLICATE_KEY for e in errors)


def _settle(waiting: _Waiting, result: Result | BaseException) -> None:
    if waiting.answer.done():  # its request was cancelled
        return
    if isinstance(result, BaseException):
        waiting.answer.set_exception(result)
    else:
        waiting.answer.set_result(result)
