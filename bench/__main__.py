"""python -m bench: see bench/__init__.py and docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from pathlib import Path

from bench import report, scenarios
from bench.calls import count_calls
from bench.hot import acceptance as hot_acceptance
from bench.hot import hot_account
from bench.hot import table as hot_table
from bench.runner import Result, run
from bench.scenarios import Service
from bench.server import started_service
from bench.volume import volume

ROOT = Path(__file__).resolve().parent.parent


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--url", help="a running service (default: start `make run`'s server)")
    p.add_argument(
        "--key", help="an API key with every scope (with --url; default: .dev-credentials.json's)"
    )
    p.add_argument(
        "--webhook-secret",
        help="the service's STRIPE_WEBHOOK_SECRET (with --url; "
        "default: .dev-credentials.json's; none: no webhook scenario)",
    )
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--seconds", type=float, default=5.0, help="per throughput scenario")
    p.add_argument(
        "--sizes",
        default="100,10000,50000",
        help="ledger entries at which a debit is probed (empty: skip)",
    )
    p.add_argument("--accounts", type=int, default=5000, help="accounts the volume opens")
    p.add_argument("--probes", type=int, default=100, help="requests per probe")
    p.add_argument("--no-calls", action="store_true", help="skip counting calls in-process")
    p.add_argument(
        "--hot-seconds",
        type=float,
        default=3.0,
        help="per hot-account run (simulated replica-set latency; 0: skip them)",
    )
    p.add_argument(
        "--hot-only", action="store_true", help="only the hot-account runs (services of their own)"
    )
    p.add_argument(
        "--tail-seconds",
        type=float,
        default=65.0,
        help="the tail: debits of one account at --connections for this long, past a pass of "
        "the minute's background jobs (0: skip)",
    )
    p.add_argument("--tail-only", action="store_true", help="only the tail (and its floor)")
    return p


def emit(*lines: str) -> None:
    """Each table as soon as it is measured: a long run stopped halfway still reports."""
    print("\n".join(lines), flush=True)


async def tail(service: Service, args: argparse.Namespace) -> None:
    """Debits of one account for a minute and more at --connections, beside /healthz: the
    slowest requests of a long run, where the background jobs' passes and collections land."""
    if not args.tail_seconds:
        return
    conn = service.connect()
    account = service.account("tail")
    await service.fund(conn, account)
    await conn.close()
    print(f"  tail: {args.tail_seconds:g} s of debits...", file=sys.stderr)
    debits = await run(
        "debit (tail)",
        service.connect,
        scenarios.debit(service, account, "tail"),
        connections=args.connections,
        seconds=args.tail_seconds,
        warmup=1,
    )
    health = await run(
        "/healthz",
        service.connect,
        scenarios.read("/healthz"),
        connections=args.connections,
        seconds=5,
        warmup=1,
    )
    emit(
        f"## The tail: {args.connections} connections on one account, "
        f"{args.tail_seconds:g} s (load average {report.load()})",
        "",
        *report.tail_table([debits, health]),
        "",
        *report.tail_acceptance(debits),
        "",
    )


async def measure(service: Service, args: argparse.Namespace) -> None:
    await tail(service, args)
    if args.tail_only:
        return
    conns, seconds = args.connections, args.seconds
    conn = service.connect()
    hot = service.account("hot")
    await service.fund(conn, hot)
    await conn.close()
    plan = [
        ("debit", scenarios.debit(service, hot)),
        ("hold + capture", scenarios.hold_and_capture(service, hot)),
        ("account read", scenarios.account_read(service, hot)),
        ("ledger page (20)", scenarios.ledger_page(service, hot)),
    ]
    if service.webhook_secret:
        plan.append(("webhook invoice.paid", scenarios.webhook(service)))
    floor = await run(
        "no route (floor)",
        service.connect,
        scenarios.no_route(service),
        connections=conns,
        seconds=seconds,
        warmup=1,
    )
    results = [floor]
    for name, op in plan:
        print(f"  {name}...", file=sys.stderr)
        results.append(
            await run(name, service.connect, op, connections=conns, seconds=seconds, warmup=1)
        )
    emit("## Throughput", "", *report.throughput_table(results, floor), "")
    across, usage = await measure_usage(service, args)
    by_name = {r.name: r for r in results}
    debits = report.Debits(by_name.get("debit"), across)
    emit("## Usage in batches", "", *report.usage_table(usage, floor, debits), "")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    stages = []
    if sizes:
        print("  volume...", file=sys.stderr)
        stages = await volume(service, sizes, args.accounts, conns, args.probes)
        emit(
            "## A debit as the data grows (one request at a time)",
            "",
            *report.volume_table(stages),
            "",
        )
    emit(
        "## Acceptance",
        "",
        *report.acceptance(by_name, floor, stages),
        *report.usage_acceptance(usage, debits),
        "",
    )


USAGE_SIZES = (100, 1000)


async def measure_usage(
    service: Service, args: argparse.Namespace
) -> tuple[Result, list[tuple[int, Result]]]:
    """Single debits of the batches' accounts (at --connections), then batches of usage
    records: one connection (a worker flushing its queue; a batch keeps the server busy by
    itself, and two batches over the same accounts at once would conflict and re-run),
    sending its next batch when the last is answered."""
    conn = service.connect()
    for account in scenarios.usage_accounts(service):
        await service.fund(conn, account)
    await conn.close()
    print("  debits of the batches' accounts...", file=sys.stderr)
    across = await run(
        f"debit, the batches' {scenarios.USAGE_ACCOUNTS} accounts",
        service.connect,
        scenarios.debit_across(service),
        connections=args.connections,
        seconds=args.seconds,
        warmup=1,
    )
    measured = []
    for size in USAGE_SIZES:
        print(f"  usage batches of {size}...", file=sys.stderr)
        op = scenarios.usage_batch(service, size)
        result = await run(
            f"usage, batches of {size:,}",
            service.connect,
            op,
            connections=USAGE_CONNECTIONS,
            seconds=args.seconds,
            warmup=1,
        )
        measured.append((size, result))
    return across, measured


USAGE_CONNECTIONS = 1  # one worker flushing: two batches over the same accounts would conflict


async def hot(args: argparse.Namespace) -> None:
    """The hot account on services of its own (their simulated latency is a setting)."""
    if args.url or not args.hot_seconds:
        return
    emit(f"machine before the hot account: {report.machine()}")
    runs = await hot_account(args.hot_seconds, 1.0, lambda line: print(line, file=sys.stderr))
    emit(
        "## The hot account (simulated replica-set latency)",
        "",
        *hot_table(runs),
        "",
        *[f"- [{'x' if ok else ' '}] {text}" for text, ok in hot_acceptance(runs)],
        "",
        f"load average after the hot account: {report.load()}",
        "",
    )


async def main_async(args: argparse.Namespace) -> int:
    emit("# Credit Ledger benchmark", "", f"machine: {report.machine()}")
    if args.hot_only:
        await hot(args)
        return 0
    async with contextlib.AsyncExitStack() as stack:
        if args.url:
            key, secret = args.key, args.webhook_secret
            saved = ROOT / ".dev-credentials.json"
            if (key is None or secret is None) and saved.is_file():
                credentials = json.loads(saved.read_text())
                key = key or credentials.get("api_key")
                secret = secret or credentials.get("webhook_secret")
            if not key:
                raise SystemExit("bench: --url needs --key (or a .dev-credentials.json)")
            service = Service(args.url, key, secret)
            emit(f"service: {args.url}", "")
        else:
            service, pid = await stack.enter_async_context(started_service())
            emit(
                f"service: `python -m app dev` (pid {pid}), {args.connections} "
                "connections over loopback",
                "",
            )
        await measure(service, args)
    if args.tail_only:  # only the tail (and its floor), as its help says
        emit(f"load average after: {report.load()}")
        return 0
    await hot(args)
    if not args.no_calls:
        logging.getLogger("app.db").setLevel(logging.ERROR)
        emit(
            "## Collection calls per operation (in-process counter)",
            "",
            *report.calls_table(await count_calls()),
            "",
        )
    emit(f"load average after: {report.load()}")
    return 0


def main() -> int:
    return asyncio.run(main_async(parser().parse_args()))


if __name__ == "__main__":
    sys.exit(main())
