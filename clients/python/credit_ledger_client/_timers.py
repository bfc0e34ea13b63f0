"""What the batchers wait with, in each flavour: a lock, and a timer that calls back once
after a delay (on a task, or on a daemon thread). The sync batcher is made from the async one
by unasync, which turns each Async name here into its Sync one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

AsyncLock = asyncio.Lock
SyncLock = threading.Lock


class AsyncTimer:
    """Calls `callback` once, `delay` seconds after `start()`; a start while one is waiting
    does nothing; `cancel()` drops the waiting one (not one whose callback already runs)."""

    def __init__(self, delay: float, callback: Callable[[], Awaitable[None]]) -> None:
        self.delay, self._callback = delay, callback
        self.sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep  # tests put a gate here
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task = None

    async def _run(self) -> None:
        await self.sleep(self.delay)
        self._task = None  # the wait is over: a cancel() from the callback must not stop it
        await self._callback()


class SyncTimer:
    """The same on a daemon thread (`threading.Timer`), its state behind a lock."""

    def __init__(self, delay: float, callback: Callable[[], None]) -> None:
        self.delay, self._callback = delay, callback
        self._lock = threading.Lock()
        self._thread: threading.Timer | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Timer(self.delay, self._run)
                self._thread.daemon = True
                self._thread.start()

    def cancel(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._thread.cancel()
            self._thread = None

    def _run(self) -> None:
        with self._lock:
            self._thread = None
        self._callback()
