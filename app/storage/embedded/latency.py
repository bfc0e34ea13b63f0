"""Simulated replica-set latency, for benchmarks only (EMBEDDED_ROUND_TRIP_MS,
EMBEDDED_COMMIT_MS; off by default): every collection call waits one round trip and every
commit a majority commit, at the engine's call boundary, before the engine acts on it. The
event loop's own timers (uvloop's libuv ones) round to whole milliseconds, which would turn a
0.5 ms round trip into none or into 1 ms: the last stretch of each wait is kept by looking at
the clock at every turn of the loop."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass, field


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
    """Waits kept on the event loop itself, to about a loop turn: a loop timer until a
    millisecond and a half before the deadline (the loop's timers round to whole
    milliseconds), then a look at every turn of the loop until the deadline passes. One timer
    serves every waiting task. (A timer thread would be precise too, but it takes the GIL from
    the loop at every wake: on a busy machine that stalled the loop for milliseconds.)"""

    COARSE = 0.0015  # seconds before a deadline where loop timers stop and turns take over

    def __init__(self) -> None:
        self._due: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._ticking = False

    async def wait(self, seconds: float) -> float:
        """Wait `seconds`; returns how long it really took."""
        loop = asyncio.get_running_loop()
        began = time.perf_counter()
        done: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._due, (began + seconds, next(self._order), done))
        if not self._ticking:
            self._ticking = True
            loop.call_soon(self._tick, loop)
        await done
        return time.perf_counter() - began

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.perf_counter()
        while self._due and self._due[0][0] <= now:
            _, _, done = heapq.heappop(self._due)
            if not done.done():  # a cancelled waiter
                done.set_result(None)
        if not self._due:
            self._ticking = False
            return
        left = self._due[0][0] - now
        if left > self.COARSE:
            loop.call_later(left - self.COARSE, self._tick, loop)
        else:
            loop.call_soon(self._tick, loop)
