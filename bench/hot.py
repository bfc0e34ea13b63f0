"""The hot account: 1, 8, 64 and 256 clients debiting one account (and 64 clients over 64
accounts) on the embedded engine with a SIMULATED replica set's latency (0.5 ms a collection
call, 2 ms a commit), with group commit and without, each on a service of its own. Besides
the figures: every run ends verified (GET /v1/admin/verify of each account: invariants, the
gapless `seq`), and retries with the keys of answered requests run beside the clients, each
checked to replay its first answer."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass

from bench.client import Connection
from bench.runner import Result, run
from bench.scenarios import Service
from bench.server import started_service

ROUND_TRIP_MS, COMMIT_MS = 0.5, 2.0
SIMULATED = {"EMBEDDED_ROUND_TRIP_MS": str(ROUND_TRIP_MS), "EMBEDDED_COMMIT_MS": str(COMMIT_MS)}
CLIENTS = (1, 8, 64, 256)
SPREAD = 64  # clients and accounts of the spread-out run
RETRIERS = 2  # connections that resend answered requests' keys during each run
RETRY_EVERY = 10  # one retry per this many answered requests: load beside, not instead
RERUNS = "credit_ledger_transaction_retries_total"
BATCHES = "credit_ledger_group_commits_total"
BATCHED = "credit_ledger_group_commit_requests_total"


@dataclass
class HotRun:
    group_commit: bool
    accounts: int
    result: Result
    sent: int  # requests of the run's clients, warm-up included
    reruns: int  # units of work re-run meanwhile (the service's /metrics)
    units: int  # group commit's units and the requests they carried
    batched: int
    retried: int  # retries sent with an answered request's key
    replay_mismatches: int  # retries that did not replay the first answer exactly
    problems: int  # what /v1/admin/verify found on the run's accounts

    @property
    def reruns_per_request(self) -> float:
        return self.reruns / self.sent if self.sent else 0.0

    @property
    def mean_batch(self) -> float:
        return self.batched / self.units if self.units else 1.0


async def hot_account(seconds: float, warmup: float, log: Callable[[str], None]) -> list[HotRun]:
    runs = []
    for group in (True, False):
        settings = {**SIMULATED, "GROUP_COMMIT": "true" if group else "false"}
        async with started_service(settings) as (service, _):
            for clients in CLIENTS:
                log(f"  hot account: {clients} clients, group commit {'on' if group else 'off'}")
                runs.append(await _one(service, group, clients, 1, seconds, warmup))
            log(f"  {SPREAD} clients over {SPREAD} accounts, group commit {group}")
            runs.append(await _one(service, group, SPREAD, SPREAD, seconds, warmup))
    return runs


async def _one(
    service: Service, group: bool, clients: int, accounts: int, seconds: float, warmup: float
) -> HotRun:
    tag = f"hot{int(group)}c{clients}a{accounts}"
    names = [service.account(f"{tag}_{i}") for i in range(accounts)]
    conn = service.connect()
    for name in names:
        await service.fund(conn, name)
    before = await _metrics(conn)
    await conn.close()
    answered: list[tuple[str, str, bytes]] = []  # (path, key, first answer)
    body = json.dumps({"amount": 1, "description": "hot"}).encode()
    sent = [0]

    async def op(c: Connection, n: int) -> tuple[bool, str | None]:
        sent[0] += 1
        path = f"/v1/accounts/{names[n % accounts]}/debits"
        key = f"{service.run}-{tag}-{n}"
        status, answer = await c.request("POST", path, body, {"Idempotency-Key": key})
        if status != 201:
            return False, f"HTTP {status}: {answer[:200]!r}"
        answered.append((path, key, answer))
        return True, None

    done = asyncio.Event()
    checks = [0, 0]  # retried, mismatches

    async def retrier() -> None:
        c = service.connect()
        draw = random.Random(clients * 1000 + accounts)
        try:
            while not done.is_set():
                if len(answered) < (checks[0] + 1) * RETRY_EVERY:
                    await asyncio.sleep(0.005)
                    continue
                path, key, first = answered[draw.randrange(len(answered))]
                status, again = await c.request("POST", path, body, {"Idempotency-Key": key})
                checks[0] += 1
                if status != 201 or json.loads(again) != json.loads(first):
                    checks[1] += 1
        finally:
            await c.close()

    retriers = [asyncio.create_task(retrier()) for _ in range(RETRIERS)]
    try:
        result = await run(
            f"{clients} on {accounts}",
            service.connect,
            op,
            connections=clients,
            seconds=seconds,
            warmup=warmup,
        )
    finally:
        done.set()
        await asyncio.gather(*retriers)
    await conn.close()  # idle past the server's keep-alive meanwhile
    conn = service.connect()
    after = await _metrics(conn)
    problems = 0
    for name in names:
        status, answer = await conn.request("GET", f"/v1/admin/verify?account_id={name}")
        report = json.loads(answer)
        problems += len(report.get("problems", [])) + (status != 200 or not report.get("ok"))
    await conn.close()
    return HotRun(
        group_commit=group,
        accounts=accounts,
        result=result,
        sent=sent[0],
        reruns=after[RERUNS] - before[RERUNS],
        units=after[BATCHES] - before[BATCHES],
        batched=after[BATCHED] - before[BATCHED],
        retried=checks[0],
        replay_mismatches=checks[1],
        problems=problems,
    )


async def _metrics(conn: Connection) -> dict[str, int]:
    status, text = await conn.request("GET", "/metrics")
    counts = dict.fromkeys((RERUNS, BATCHES, BATCHED), 0)
    for line in text.decode().splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in counts:
            counts[name] += int(float(line.split()[-1]))
    return counts


def table(runs: list[HotRun]) -> list[str]:
    lines = [
        f"SIMULATED replica set: {ROUND_TRIP_MS:g} ms round trip per collection call, "
        f"{COMMIT_MS:g} ms per commit (embedded engine; EMBEDDED_ROUND_TRIP_MS, "
        "EMBEDDED_COMMIT_MS). Debits of 1 credit; retries resend answered keys beside the "
        "clients.",
        "",
        "| group commit | clients | accounts | debits/s | p50 ms | p99 ms | re-runs/request | "
        "mean batch | retries (replayed) | verify | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for h in runs:
        r = h.result
        retries = f"{h.retried:,} ({h.retried - h.replay_mismatches:,})"
        lines.append(
            f"| {'on' if h.group_commit else 'off'} | {r.connections} | {h.accounts} | "
            f"{r.throughput:,.0f} | {r.percentile(50):.1f} | {r.percentile(99):.1f} | "
            f"{h.reruns_per_request:.3f} | {h.mean_batch:.1f} | {retries} | "
            f"{'ok' if not h.problems else f'{h.problems} problems'} | {r.errors} |"
        )
    first = next((h.result.first_error for h in runs if h.result.first_error), None)
    if first:
        lines.append(f"\nfirst error: {first}")
    return lines


def acceptance(runs: list[HotRun]) -> list[tuple[str, bool]]:
    def find(group: bool, clients: int, accounts: int = 1) -> HotRun | None:
        return next(
            (
                h
                for h in runs
                if (h.group_commit, h.result.connections, h.accounts) == (group, clients, accounts)
            ),
            None,
        )

    checks = []
    hot = find(True, 64)
    if hot:
        r = hot.result
        checks.append(
            (
                f"hot account, 64 clients, group commit (simulated): {r.throughput:,.0f} "
                f"debits/s (>= 1,000), p99 {r.percentile(99):.1f} ms (<= 50), "
                f"{hot.reruns_per_request:.3f} re-runs per request (< 0.1)",
                r.throughput >= 1000 and r.percentile(99) <= 50 and hot.reruns_per_request < 0.1,
            )
        )
    alone, without = find(True, 1), find(False, 1)
    if alone and without:
        ratio = alone.result.percentile(50) / without.result.percentile(50)
        checks.append(
            (
                f"1 client: p50 {alone.result.percentile(50):.2f} ms with group commit, "
                f"{without.result.percentile(50):.2f} without ({ratio:.2f} x, within 10%)",
                abs(ratio - 1) <= 0.10,
            )
        )
    checks.append(
        (
            "every run verified (invariants, gapless seq), every retry replayed its first answer",
            all(not h.problems and not h.replay_mismatches and h.retried for h in runs),
        )
    )
    return checks
