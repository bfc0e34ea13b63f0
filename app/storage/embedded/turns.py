"""How tasks take turns on the embedded engine, at its one call boundary (every collection
call and every commit): free-running (the event loop's own order and a real clock), or
seeded for tests, where every call parks its task and the next to go on is drawn from the
seed, so one seed replays one interleaving and many seeds explore many. Simulated latency
belongs here too: it is a wait at the same boundary."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from typing import Protocol


class Turns(Protocol):
    rng: random.Random  # the back-off's jitter (seeded: part of the interleaving)

    def now(self) -> float:
        """Seconds on the engine's clock (a transaction's lifetime, the re-run give-up)."""
        ...

    async def call(self) -> None:
        """Awaited at every collection call and commit, before the engine acts on it."""
        ...

    async def sleep(self, seconds: float) -> None:
        """The back-off before a unit of work is re-run."""
        ...


class FreeRunning:
    """The event loop's order; the back-off really waits. Every call is a turn of the loop,
    as a driver's call awaits the network: other requests go on meanwhile, so units of work
    interleave (and group commit batches) on `make run`'s server as on a replica set, not
    one whole unit after another."""

    def __init__(self) -> None:
        self.rng = random.Random()

    def now(self) -> float:
        return time.monotonic()

    async def call(self) -> None:
        await asyncio.sleep(0)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Seeded:
    """Every call parks its task; once the other tasks have had a few turns of the event loop
    to reach their own next call (or to finish), one parked task, drawn from the seed, goes on.
    Time is virtual: calls take none, and it moves to the next back-off's end only when no
    task is left to go on (or when a test moves it), so a run never waits and the 60 s and
    120 s limits are reached in turns, not seconds."""

    SETTLE = 8  # loop turns other tasks get before each draw: they reach their next call

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.draws = 0  # how many times a parked task was chosen (a test's proof of turns)
        self._clock = 0.0
        self._parked: list[asyncio.Future[None]] = []
        self._sleeping: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # sleepers that wake at the same time: in order
        self._driver: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self._clock

    def advance(self, seconds: float) -> None:
        self._clock += seconds

    async def call(self) -> None:
        await self._wait(self._parked)

    async def sleep(self, seconds: float) -> None:
        turn = await self._turn()
        heapq.heappush(self._sleeping, (self._clock + seconds, next(self._order), turn))
        await turn

    async def _wait(self, queue: list) -> None:
        turn = await self._turn()
        queue.append(turn)
        await turn

    async def _turn(self) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        return loop.create_future()

    async def _drive(self) -> None:
        while True:
            for _ in range(self.SETTLE):
                await asyncio.sleep(0)
            self._parked = [turn for turn in self._parked if not turn.done()]  # cancelled
            if not self._parked and self._sleeping:  # every task waits: time moves on
                self._clock = max(self._clock, self._sleeping[0][0])
            while self._sleeping and self._sleeping[0][0] <= self._clock:
                self._parked.append(heapq.heappop(self._sleeping)[2])
            self._parked = [turn for turn in self._parked if not turn.done()]
            if not self._parked:
                return
            turn = self._parked.pop(self.rng.randrange(len(self._parked)))
            self.draws += 1
            turn.set_result(None)
