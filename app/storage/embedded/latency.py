"""Simulated replica-set latency, for benchmarks only (EMBEDDED_ROUND_TRIP_MS,
EMBEDDED_COMMIT_MS; off by default): every collection call waits one round trip and every
commit a majority commit, at the engine's call boundary, before the engine acts on it. The
waits are kept by a timer thread: the event loop's own timers (uvloop's libuv ones) round to
whole milliseconds, which would turn a 0.5 ms round trip into none or into 1 ms."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field

MAX_LESSON = 0.0002  # the most one late wake moves the timer's correction, and its bound


@dataclass
class Waited:
    """What the simulated waits really took (the timer's and the event loop's delays
    included): the benchmark reports it beside the figures it asked for."""

    count: int = 0
    seconds: float = 0.0

    @property
    def mean_ms(self) -> float:
        return self.seconds / self.count * 1000 if self.count else 0.0


@dataclass
class Latency:
    round_trip: float  # seconds per collection call
    commit: float  # seconds per commit (a majority write concern's wait included)
    calls: Waited = field(default_factory=Waited)
    commits: Waited = field(default_factory=Waited)

    def __post_init__(self) -> None:
        self._timer = _Timer()

    def describe(self) -> str:
        return (
            f"simulated latency: {self.round_trip * 1000:g} ms round trip per collection "
            f"call, {self.commit * 1000:g} ms per commit"
        )

    async def call(self) -> None:
        if self.round_trip:
            self.calls.seconds += await self._timer.wait(self.round_trip)
            self.calls.count += 1

    async def commit_wait(self) -> None:
        if self.commit:
            self.commits.seconds += await self._timer.wait(self.commit)
            self.commits.count += 1


class _Timer:
    """One daemon thread that wakes each waiting task at its deadline. The thread itself wakes
    late (about 0.1 ms on Linux): it learns by how much and wakes that much early, so that the
    waits average what was asked; the event loop's own delay in resuming a task is real (a
    driver's answer waits for the loop too) and is left in."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._late = 0.0  # how late the thread wakes, a moving average (seconds)

    async def wait(self, seconds: float) -> float:
        """Wait `seconds`; returns how long it really took."""
        loop = asyncio.get_running_loop()
        began = time.perf_counter()
        done: asyncio.Future[None] = loop.create_future()
        with self._changed:
            heapq.heappush(self._due, (began + seconds, next(self._order), loop, done))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="simulated-latency", daemon=True
                )
                self._thread.start()
            self._changed.notify()
        await done
        return time.perf_counter() - began

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._due:
                    self._changed.wait()
                deadline = self._due[0][0]
                left = deadline - self._late - time.perf_counter()
                if left > 0:
                    self._changed.wait(left)
                    continue
                _, _, loop, done = heapq.heappop(self._due)
                # Late: wake earlier next time; early: later (on average, on time). One wake
                # delayed by the machine's load teaches little: each counts 0.2 ms at most.
                off = min(max(time.perf_counter() - deadline, -MAX_LESSON), MAX_LESSON)
                self._late = min(max(0.0, self._late + 0.05 * off), MAX_LESSON)
            if not loop.is_closed():
                loop.call_soon_threadsafe(_wake, done)


def _wake(done: asyncio.Future[None]) -> None:
    if not done.done():  # a cancelled waiter
        done.set_result(None)
