"""What the leased jobs share (the webhook dispatcher, the top-up job): claims under a lease in
this instance's name, so several instances may run them; a backoff with jitter for what failed;
and a loop in the service that a bad moment of the database does not end and shutdown stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from bson import ObjectId

from app.kit.clock import Clock

T = TypeVar("T")
Claim = Callable[[datetime, datetime, str], Awaitable[T | None]]  # (now, lease end, owner)


@dataclass(frozen=True)
class Backoff:
    schedule: tuple[int, ...]  # seconds to wait after the 1st, 2nd, ... failed attempt
    every_after: int  # then this, each time
    jitter: float = 0.2  # each delay is drawn within +-20%

    def after(self, attempts: int, draw: Callable[[], float] = random.random) -> timedelta:
        """The wait after the `attempts`-th failed attempt, with jitter."""
        index = attempts - 1
        base = self.schedule[index] if attempts <= len(self.schedule) else self.every_after
        return timedelta(seconds=base * (1 - self.jitter + 2 * self.jitter * draw()))


class LeasedJob:
    """A job whose passes claim documents one at a time under a lease of `lease`; `run_once`
    is one pass; `start` runs a pass every `interval` seconds until `stop`."""

    def __init__(
        self, name: str, clock: Clock, lease: timedelta, log: logging.Logger, failure: str
    ) -> None:
        self.clock = clock
        self.lease = lease
        self.owner = f"{name}_{ObjectId()}"
        self._log, self._failure = log, failure  # what a failed pass logs
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def run_once(self) -> int:
        raise NotImplementedError

    async def _claim(self, claim: Claim[T]) -> T | None:
        """The next document due now, leased to this job; None when none is or the job stops."""
        if self._stopping.is_set():
            return None
        now = self.clock.now()
        return await claim(now, now + self.lease, self.owner)

    # In the service: a loop, stopped at shutdown.

    def start(self, interval: float) -> None:
        self._task = asyncio.create_task(self._run(interval))

    async def _run(self, interval: float) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # the loop must outlive a bad moment of the database
                self._log.exception(self._failure)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), interval)

    async def stop(self, grace: float = 0) -> None:
        """Claim nothing more; a pass in flight has `grace` seconds to finish, then is
        cancelled."""
        self._stopping.set()
        if self._task is None:
            return
        if grace > 0:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), grace)
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
