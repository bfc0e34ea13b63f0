"""A debit's latency as the database grows: at each size, the ledger is filled (grants opening
up to N accounts, then debits spread over them) and the same account is probed one request at
a time (a debit, then the reads a frontend makes), so that queueing never hides in the figure."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass

from bench import scenarios
from bench.runner import Result, run
from bench.scenarios import Service

OLDEST_UNDELIVERED = "credit_ledger_events_oldest_undelivered_seconds"


@dataclass
class Stage:
    entries: int  # ledger entries this run has made when the probe runs
    accounts: int
    debit: Result
    reads: Result


async def volume(
    service: Service, sizes: list[int], accounts: int, connections: int, probes: int
) -> list[Stage]:
    conn = service.connect()
    hot = service.account("volume")
    await service.fund(conn, hot)
    made, opened, stages = 1, 0, []
    for size in sizes:
        target = max(size - probes // 2, made)  # the probe straddles the size
        while made < target:
            # Open accounts first (a grant each), then debit them round-robin.
            batch = min(target - made, 5_000)
            if opened < accounts:
                batch = min(batch, accounts - opened)
                await _open_accounts(service, opened, batch, connections)
                opened += batch
            else:
                await _spread_debits(service, made, batch, opened, connections)
            made += batch
            print(f"  filled {made:,} entries, {opened:,} accounts", file=sys.stderr)
        waited = await _settle(service)
        print(f"  the outbox was delivered {waited:.1f} s after the fill", file=sys.stderr)
        debit = await run(
            f"debit at {size:,} entries",
            service.connect,
            scenarios.debit(service, hot, f"probe{size}"),
            connections=1,
            count=probes,
        )
        made += probes
        reads = await run(
            f"reads at {size:,} entries",
            service.connect,
            scenarios.any_of(
                scenarios.account_read(service, hot),
                scenarios.ledger_page(service, hot),
                scenarios.read(f"/v1/accounts/{hot}/access?cost=1"),
                scenarios.read(f"/v1/accounts/{hot}/grants"),
            ),
            connections=1,
            count=probes,
        )
        stages.append(Stage(size, opened, debit, reads))
    await conn.close()
    return stages


async def _open_accounts(service: Service, first: int, count: int, connections: int) -> None:
    async def op(conn, n):
        await service.fund(conn, service.account(f"v{first + n}"), 1_000_000)
        return True, None

    result = await run("open accounts", service.connect, op, connections=connections, count=count)
    _check(result)


async def _spread_debits(
    service: Service, first: int, count: int, accounts: int, connections: int
) -> None:
    ops = {}

    async def op(conn, n):
        account = service.account(f"v{(first + n) % accounts}")
        if account not in ops:
            ops[account] = scenarios.debit(service, account, "fill")
        return await ops[account](conn, first + n)

    result = await run("fill", service.connect, op, connections=connections, count=count)
    _check(result)


async def _settle(service: Service, limit: float = 300.0) -> float:
    """Wait until the service has fanned out every outgoing event the fill made (its
    `..._oldest_undelivered_seconds` gauge reads 0): the fill writes thousands of events a
    minute, and a probe running while the dispatcher drains them would measure that burst
    (every request shares the process with it on the embedded engine), not the data's size."""
    started = time.monotonic()
    conn = service.connect()  # its own: an idle keep-alive connection is closed by the server
    try:
        while time.monotonic() - started < limit:
            status, body = await conn.request("GET", "/metrics")
            lines = body.decode().splitlines() if status == 200 else []
            gauge = [line for line in lines if line.startswith(OLDEST_UNDELIVERED + " ")]
            if not gauge or float(gauge[0].split()[1]) == 0:
                break
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    return time.monotonic() - started


def _check(result: Result) -> None:
    if result.errors:
        raise SystemExit(f"bench: filling the ledger failed: {result.first_error}")
