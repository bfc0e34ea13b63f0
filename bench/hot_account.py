"""python -m bench.hot_account: the hot-account ceiling of docs/scaling.md, measured on the
embedded engine. Concurrent debits on one account, through the API in-process; each collection
call and each commit waits a simulated round trip at the engine's call boundary, and the
engine's write conflicts and the re-runs /metrics counts (credit_ledger_transaction_retries_total)
are read after each run. A second table replays bursts under seeded turns (no time at all):
the re-runs a burst of c debits costs, whatever the latency."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime

import httpx

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.kit.config import Scope, Settings, sha256_hex
from app.storage.database import Database, connect
from app.storage.embedded.turns import FreeRunning, Seeded

KEY = "bench-hot-account-key"
HEADERS = {"Authorization": f"Bearer {KEY}"}
RERUNS = "credit_ledger_transaction_retries_total"


class RoundTrips(FreeRunning):
    """Every call and commit takes `rtt` seconds, as a round trip to the primary would."""

    def __init__(self, rtt: float) -> None:
        super().__init__()
        self.rtt = rtt

    async def call(self) -> None:
        await asyncio.sleep(self.rtt)


async def _service(db: Database):
    keys = [{"name": "bench", "sha256": sha256_hex(KEY), "scopes": [s.value for s in Scope]}]
    settings = Settings(
        _env_file=None,
        api_keys=json.dumps(keys),
        jwt_secret="bench-jwt-secret-that-is-long-enough-for-hs256",
        stripe_webhook_secret="whsec_bench",
        app_env="development",
        group_commit=False,  # one unit per request: what units from different instances meet
    )
    clock = FrozenClock(datetime(2026, 11, 1, 12, tzinfo=UTC))
    return create_app(settings, db=db, clock=clock, sweeper=False)


async def reruns(client: httpx.AsyncClient) -> int:
    """Re-runs of units of work so far, as GET /metrics counts them (every label)."""
    text = (await client.get("/metrics", headers=HEADERS)).text
    return sum(int(line.split()[-1]) for line in text.splitlines() if line.startswith(RERUNS))


async def _debit(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    r = await client.post(
        "/v1/accounts/hot/debits",
        json={"amount": 1},
        headers={**HEADERS, "Idempotency-Key": f"hot-{uuid.uuid4().hex}"},
    )
    assert r.status_code == 201, r.text
    return time.perf_counter() - started


async def _fund(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/accounts/hot/grants",
        json={"amount": 10**9, "kind": "bonus", "description": "hot"},
        headers={**HEADERS, "Idempotency-Key": "fund"},
    )
    assert r.status_code == 201, r.text


async def timed(concurrency: int, per_worker: int, rtt: float) -> dict:
    """`concurrency` workers, each debiting `per_worker` times in a row, at `rtt` a call."""
    db = connect(None, f"hot_{uuid.uuid4().hex[:8]}")
    app = await _service(db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await _fund(client)
            db.engine.turns = RoundTrips(rtt)
            before = await reruns(client)
            conflicts = db.engine.stats["write_conflicts"]

            async def worker() -> list[float]:
                return [await _debit(client) for _ in range(per_worker)]

            started = time.perf_counter()
            runs = await asyncio.gather(*(worker() for _ in range(concurrency)))
            latencies = [t for run in runs for t in run]
            elapsed = time.perf_counter() - started
            db.engine.turns = FreeRunning()
            debits = concurrency * per_worker
            return {
                "c": concurrency,
                "debits_per_s": debits / elapsed,
                "reruns_per_debit": (await reruns(client) - before) / debits,
                "conflicts_per_debit": (db.engine.stats["write_conflicts"] - conflicts) / debits,
                "p50_ms": statistics.median(latencies) * 1000,
            }


async def seeded(concurrency: int, seeds: range) -> dict:
    """Bursts of `concurrency` debits at once, under seeded turns: re-runs per debit."""
    db = connect(None, f"hot_{uuid.uuid4().hex[:8]}")
    app = await _service(db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await _fund(client)
            before = await reruns(client)
            for seed in seeds:
                db.engine.turns = Seeded(seed)
                await asyncio.gather(*(_debit(client) for _ in range(concurrency)))
            db.engine.turns = FreeRunning()
            debits = concurrency * len(seeds)
            return {"c": concurrency, "reruns_per_debit": (await reruns(client) - before) / debits}


async def main(args: argparse.Namespace) -> None:
    rtt = args.rtt_ms / 1000
    print(f"simulated round trip {args.rtt_ms} ms, {args.per_worker} debits per worker")
    print("| concurrent | debits/s | re-runs per debit | conflicts per debit | p50 ms |")
    print("|---:|---:|---:|---:|---:|")
    for c in args.concurrency:
        row = await timed(c, args.per_worker, rtt)
        print(
            f"| {c} | {row['debits_per_s']:.0f} | {row['reruns_per_debit']:.2f} "
            f"| {row['conflicts_per_debit']:.2f} | {row['p50_ms']:.1f} |",
            flush=True,
        )
    print(f"\nseeded bursts ({args.seeds} seeds each)")
    print("| burst | re-runs per debit |")
    print("|---:|---:|")
    for c in args.concurrency:
        row = await seeded(c, range(args.seeds))
        print(f"| {c} | {row['reruns_per_debit']:.2f} |", flush=True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.hot_account", description=__doc__)
    p.add_argument("--rtt-ms", type=float, default=2.0, help="simulated round trip per call")
    p.add_argument("--per-worker", type=int, default=50)
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4, 8, 16]
    )
    return p


if __name__ == "__main__":
    asyncio.run(main(parser().parse_args()))
