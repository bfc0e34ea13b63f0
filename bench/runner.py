"""Runs an operation on N connections at once for a while (a closed loop: each connection sends
its next request when the last one is answered) and measures each request."""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.client import Connection

# An operation: given a connection and a number unique to the run, makes its request(s) and
# returns whether the answer was the expected one (and a line about it when not).
Op = Callable[[Connection, int], Awaitable[tuple[bool, str | None]]]


@dataclass
class Result:
    name: str
    connections: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    @property
    def ops(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, -(-len(ordered) * p // 100))
        return ordered[int(rank) - 1] * 1000

    @property
    def worst(self) -> float:
        return max(self.latencies, default=float("nan")) * 1000


async def run(
    name: str,
    connect: Callable[[], Connection],
    op: Op,
    *,
    connections: int,
    seconds: float | None = None,
    count: int | None = None,
    warmup: float = 0.0,
) -> Result:
    """`connections` workers, each on its own connection, for `seconds` or `count` requests in
    all; the first `warmup` seconds are run but not measured."""
    # This process's own garbage collections would be counted as the server's time: none runs
    # while it measures (what one run makes is small), and what it held is frozen first.
    gc.collect()
    gc.freeze()
    gc.disable()
    numbers = itertools.count()
    result = Result(name, connections)
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds if seconds is not None else None
    left = [count] if count is not None else None

    async def worker() -> None:
        conn = connect()
        try:
            while True:
                if left is not None:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                began = time.perf_counter()
                if stop is not None and began >= stop:
                    return
                try:
                    ok, why = await op(conn, next(numbers))
                except (OSError, asyncio.IncompleteReadError) as error:
                    ok, why = False, f"{type(error).__name__}: {error}"
                ended = time.perf_counter()
                if began < measure_from:
                    continue
                result.latencies.append(ended - began)
                if not ok:
                    result.errors += 1
                    result.first_error = result.first_error or why
        finally:
            await conn.close()

    try:
        await asyncio.gather(*(worker() for _ in range(connections)))
    finally:
        gc.enable()
    result.seconds = time.perf_counter() - max(start, measure_from)
    return result
