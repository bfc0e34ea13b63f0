"""Benchmark of the Credit Ledger's hot paths (a measurement, not a test).

    make bench                          # python scripts/bench.py: the app in-process
    MONGODB_URI=mongodb://... make bench  # the same against a MongoDB replica set
    python scripts/bench.py --url http://127.0.0.1:8000   # a running `make run`, over loopback

In-process (the default) the app is built with `create_app(settings, sweeper=False)` and driven
by httpx over ASGITransport: every figure includes routing, validation, auth and the database,
but no sockets. The database is the embedded in-memory engine unless MONGODB_URI is set; then a
throwaway database `bench_<hex>` is used and dropped at the end. With `--url` the requests go
to a running service on this machine (loopback only), using the key and webhook secret of
`.dev-credentials.json` (or --api-key / --webhook-secret); it writes fresh `bench_<hex>_*`
accounts into that service's database.

Scenarios: debits one after another; C-way concurrent debits on one account and spread over
many accounts; reserve+capture pairs; reading a ledger page of an account with 1,000 entries;
signed `invoice.paid` webhooks (each activating a new account). Latencies are per request (per
pair for reservations), measured by the client. The defaults finish in well under a minute on
two cores with the embedded engine; raise them for steadier figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import itertools
import json
import logging
import os
import platform
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python scripts/bench.py` puts scripts/ first, not the root
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.stripe_events import StripeEvents, signed_request  # noqa: E402

FUNDS = 1_000_000_000  # credits granted to each benchmark account: never the limit
Op = Callable[[int], Awaitable[httpx.Response]]


# ---------------------------------------------------------------- measuring


@dataclass
class Result:
    name: str
    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    note: str = ""

    @property
    def ops(self) -> int:
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
        return ordered[int(rank) - 1] * 1000


async def measure(
    name: str, count: int, concurrency: int, op: Op, *, expect: int | tuple[int, ...] = (200, 201)
) -> Result:
    """Run `op(0..count-1)` on `concurrency` workers; time each call and the whole."""
    expected = (expect,) if isinstance(expect, int) else expect
    result = Result(name, concurrency)
    numbers = iter(range(count))

    async def worker() -> None:
        for i in numbers:  # a shared iterator: each number is taken once
            started = time.perf_counter()
            try:
                response = await op(i)
            except httpx.TransportError as error:  # a connection refused or cut: count it
                result.latencies.append(time.perf_counter() - started)
                result.errors += 1
                result.first_error = result.first_error or f"{type(error).__name__}: {error}"
                continue
            result.latencies.append(time.perf_counter() - started)
            if response.status_code not in expected:
                result.errors += 1
                result.first_error = result.first_error or (
                    f"HTTP {response.status_code}: {response.text[:200]}"
                )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


# ---------------------------------------------------------------- the service under test


@dataclass
class Target:
    client: httpx.AsyncClient
    webhook_secret: str
    engine: str


class BenchEvents(StripeEvents):
    """The test builder with ids unique to this run (a running service keeps its data)."""

    def __init__(self, run: str) -> None:
        super().__init__(shape="endive")
        self.run = run
        self._numbers = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_bench{self.run}{next(self._numbers):07d}"


@contextlib.asynccontextmanager
async def in_process(args: argparse.Namespace) -> AsyncIterator[Target]:
    from app.clock import Clock
    from app.config import Scope, Settings, sha256_hex
    from app.db import connect
    from app.main import create_app

    key, secret = "bench-" + secrets.token_urlsafe(16), "whsec_bench_" + secrets.token_hex(8)
    uri = os.environ.get("MONGODB_URI") or None
    name = f"bench_{secrets.token_hex(6)}"
    settings = Settings(
        _env_file=None,
        app_env="development",
        mongodb_uri=uri,
        mongodb_db=name,
        api_keys=json.dumps(
            [
                {
                    "name": "bench",
                    "sha256": sha256_hex(key),
                    "scopes": [scope.value for scope in Scope],
                }
            ]
        ),
        stripe_webhook_secret=secret,
        plans_file=ROOT / "plans.example.toml",
    )
    if not uri:  # the header says so once; not a warning per scenario
        logging.getLogger("app.db").setLevel(logging.ERROR)
    database = connect(uri, name)
    if uri:
        try:
            await database.ping()
        except Exception as error:
            await database.close()
            raise SystemExit(f"bench: MongoDB at MONGODB_URI does not answer: {error}") from None
    app = create_app(settings, db=database, clock=Clock(), sweeper=False)
    engine = (
        "MongoDB (a throwaway database per scenario, dropped after it)"
        if uri
        else "embedded in-memory engine (a fresh one per scenario)"
    )
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://bench",
                headers={"Authorization": f"Bearer {key}"},
                timeout=60,
            ) as client:
                yield Target(client, secret, f"in-process (ASGI), {engine}")
    finally:
        if uri:
            try:
                await database.client.drop_database(name)
            except Exception as error:  # do not hide what went wrong before
                print(f"bench: could not drop the database {name}: {error}", file=sys.stderr)
        await database.close()


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.asynccontextmanager
async def over_loopback(args: argparse.Namespace) -> AsyncIterator[Target]:
    if not _loopback(args.url):
        raise SystemExit(
            f"bench: --url must be a loopback address (127.0.0.1, ::1, localhost), not {args.url}"
        )
    saved: dict[str, Any] = {}
    credentials = ROOT / ".dev-credentials.json"
    if credentials.is_file():
        saved = json.loads(credentials.read_text(encoding="utf-8"))
    key = args.api_key or os.environ.get("BENCH_API_KEY") or saved.get("api_key")
    secret = (
        args.webhook_secret
        or os.environ.get("STRIPE_WEBHOOK_SECRET")
        or saved.get("webhook_secret")
        or ""
    )
    secret = secret.split(",")[0].strip()
    if not key or not secret:
        raise SystemExit(
            "bench: --url needs an API key with every scope and the webhook "
            "secret: --api-key / --webhook-secret, or .dev-credentials.json"
        )
    limits = httpx.Limits(max_connections=max(args.concurrency, 10) * 2)
    async with httpx.AsyncClient(
        base_url=args.url.rstrip("/"),
        limits=limits,
        timeout=60,
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        try:
            ready = await client.get("/readyz")
        except httpx.TransportError as error:
            raise SystemExit(
                f"bench: {args.url} does not answer ({error}); start it with `make run`"
            ) from None
        engine = ready.json().get("engine", "?") if ready.status_code == 200 else "not ready"
        yield Target(client, secret, f"{args.url} over loopback, {engine}")


# ---------------------------------------------------------------- scenarios


class Bench:
    """The scenarios; `run_all` gives each its own target (on the embedded engine a fresh
    database, whose cost per write grows with its size: one scenario's data would slow the
    next)."""

    client: httpx.AsyncClient
    target: Target

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run = secrets.token_hex(4)
        self.events = BenchEvents(self.run)
        self.results: list[Result] = []

    def account(self, name: str) -> str:
        return f"bench_{self.run}_{name}"

    async def fund(self, account: str, amount: int = FUNDS) -> None:
        response = await self.client.post(
            f"/v1/accounts/{account}/grants",
            json={"amount": amount, "kind": "bonus", "description": "benchmark funds"},
            headers={"Idempotency-Key": f"fund-{account}"},
        )
        if response.status_code != 201:
            raise SystemExit(
                f"bench: funding {account} failed: HTTP {response.status_code} "
                f"{response.text[:300]}"
            )

    async def balance(self, account: str) -> int:
        return (await self.client.get(f"/v1/accounts/{account}")).json()["balance"]

    def debit_op(self, accounts: list[str], tag: str) -> Op:
        async def op(i: int) -> httpx.Response:
            account = accounts[i % len(accounts)]
            return await self.client.post(
                f"/v1/accounts/{account}/debits",
                json={"amount": 1, "description": "bench generation", "metadata": {"i": i}},
                headers={"Idempotency-Key": f"{tag}-{i}"},
            )

        return op

    async def debits(
        self, name: str, count: int, concurrency: int, accounts: list[str], tag: str
    ) -> Result:
        await asyncio.gather(*(self.fund(a) for a in accounts))
        result = await measure(name, count, concurrency, self.debit_op(accounts, tag))
        total = sum([await self.balance(a) for a in accounts])
        spent = FUNDS * len(accounts) - total
        ok = result.ops - result.errors
        result.note = (
            f"balance ok (-{spent})"
            if spent == ok
            else f"BALANCE MISMATCH: spent {spent}, {ok} debits succeeded"
        )
        return result

    async def reservations(self, count: int, concurrency: int) -> Result:
        account = self.account(f"holds{concurrency}")
        await self.fund(account)

        async def pair(i: int) -> httpx.Response:
            held = await self.client.post(
                f"/v1/accounts/{account}/reservations",
                json={"amount": 5, "ttl_seconds": 300},
                headers={"Idempotency-Key": f"hold-{concurrency}-{i}"},
            )
            if held.status_code != 201:
                return held
            return await self.client.post(
                f"/v1/reservations/{held.json()['id']}/capture",
                json={"amount": 3},
                headers={"Idempotency-Key": f"capture-{concurrency}-{i}"},
            )

        name = "reserve+capture pairs" + (", 1 account" if concurrency > 1 else "")
        result = await measure(name, count, concurrency, pair, expect=200)
        spent = FUNDS - await self.balance(account)
        ok = result.ops - result.errors
        result.note = (
            f"balance ok (-{spent})"
            if spent == 3 * ok
            else f"BALANCE MISMATCH: spent {spent}, expected {3 * ok}"
        )
        return result

    async def ledger_reads(self, entries: int, reads: int) -> list[Result]:
        account = self.account("ledger")
        await self.fund(account)  # one entry
        fill = await measure(
            "(fill)", entries - 1, self.args.concurrency, self.debit_op([account], "fill")
        )
        if fill.errors:
            raise SystemExit(f"bench: filling the ledger failed: {fill.first_error}")
        path = f"/v1/accounts/{account}/ledger"
        middle = None
        params: dict[str, Any] = {"limit": 100}
        for _ in range(entries // 200):  # walk to the middle of the ledger
            page = (await self.client.get(path, params=params)).json()
            middle = params["starting_after"] = page["next_cursor"]
        first = await measure(
            f"ledger page of 100, newest ({entries} entries)",
            reads,
            1,
            lambda i: self.client.get(path, params={"limit": 100}),
            expect=200,
        )
        deep_params = {"limit": 100, **({"starting_after": middle} if middle else {})}
        deep = await measure(
            f"ledger page of 100, from the middle ({entries} entries)",
            reads,
            1,
            lambda i: self.client.get(path, params=deep_params),
            expect=200,
        )
        filtered = await measure(
            f"ledger page of 20, type=grant ({entries} entries)",
            reads,
            1,
            lambda i: self.client.get(path, params={"type": "grant"}),
            expect=200,
        )
        fill.name = f"(debits to fill the ledger to {entries})"
        return [fill, first, deep, filtered]

    async def webhooks(self, count: int, concurrency: int) -> Result:
        # Each event activates a new account (named in the subscription metadata) for a new
        # customer: resolution, linking, a 1000-credit grant and the event log, per event.
        tag = f"wh{concurrency}"
        events = [
            self.events.invoice_event(
                "invoice.paid",
                customer=f"cus_bench{self.run}{tag}{i}",
                subscription=f"sub_bench{self.run}{tag}{i}",
                billing_reason="subscription_create",
                subscription_metadata={"account_id": self.account(f"{tag}_{i}")},
            )
            for i in range(count)
        ]
        # Signed just before sending: the service allows 300 s of clock skew.
        requests = [signed_request(event, self.target.webhook_secret) for event in events]
        answers: dict[str, int] = {}

        async def deliver(i: int) -> httpx.Response:
            body, headers = requests[i]
            response = await self.client.post("/webhooks/stripe", content=body, headers=headers)
            if response.status_code == 200:
                status = response.json()["status"]
                answers[status] = answers.get(status, 0) + 1
            return response

        name = "webhook invoice.paid (signed, activation)"
        result = await measure(name, count, concurrency, deliver, expect=200)
        result.note = ", ".join(f"{n} {status}" for status, n in sorted(answers.items()))
        if answers.get("processed", 0) != count:
            result.errors += count - answers.get("processed", 0)
        return result

    async def run_all(self) -> list[Result]:
        a, c = self.args, self.args.concurrency
        steps: list[tuple[str, Callable[[], Awaitable[Result | list[Result]]]]] = [
            (
                "debits",
                lambda: self.debits(
                    "debits, sequential, 1 account", a.debits, 1, [self.account("seq")], "seq"
                ),
            ),
            (
                "debits",
                lambda: self.debits(
                    "debits, concurrent, 1 account", a.debits, c, [self.account("hot")], "hot"
                ),
            ),
            (
                "debits",
                lambda: self.debits(
                    f"debits, concurrent, {a.accounts} accounts",
                    a.debits,
                    c,
                    [self.account(f"many{i}") for i in range(a.accounts)],
                    "many",
                ),
            ),
            ("reservations", lambda: self.reservations(a.reservations, 1)),
            ("reservations", lambda: self.reservations(a.reservations, c)),
            ("ledger", lambda: self.ledger_reads(a.ledger_entries, a.reads)),
            ("webhooks", lambda: self.webhooks(a.webhooks, 1)),
            ("webhooks", lambda: self.webhooks(a.webhooks, c)),
        ]
        opener = over_loopback if a.url else in_process
        for scenario, step in steps:
            if a.only and scenario not in a.only:
                continue
            async with opener(a) as target:
                if not self.results:
                    print(
                        f"Credit Ledger benchmark: {target.engine}; "
                        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
                    )
                    print(HEADER)
                    print("-" * len(HEADER))
                self.client, self.target = target.client, target
                outcome = await step()
            for result in outcome if isinstance(outcome, list) else [outcome]:
                self.results.append(result)
                print_row(result)
        return self.results


# ---------------------------------------------------------------- output

HEADER = (
    f"{'scenario':<50} {'ops':>6} {'conc':>4} {'secs':>6} {'ops/s':>7} "
    f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errs':>4}  note"
)


def print_row(r: Result) -> None:
    rate = r.ops / r.seconds if r.seconds else float("nan")
    print(
        f"{r.name:<50} {r.ops:>6} {r.concurrency:>4} {r.seconds:>6.2f} {rate:>7.1f} "
        f"{r.percentile(50):>7.2f} {r.percentile(95):>7.2f} {r.percentile(99):>7.2f} "
        f"{r.errors:>4}  {r.note}",
        flush=True,
    )
    if r.first_error:
        print(f"{'':<4}first error: {r.first_error}", flush=True)


async def main_async(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    results = await Bench(args).run_all()
    print(f"total {time.perf_counter() - started:.1f} s")
    bad = [r for r in results if r.errors or "MISMATCH" in r.note]
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python scripts/bench.py",
        description="Benchmark debits, reservations, ledger reads and webhooks.",
    )
    parser.add_argument(
        "--debits", type=int, default=200, help="debits per debit scenario (default %(default)s)"
    )
    parser.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=8,
        help="concurrent requests in the concurrent scenarios (default %(default)s)",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=50,
        help="accounts the many-accounts scenario spreads over (default %(default)s)",
    )
    parser.add_argument(
        "--reservations",
        type=int,
        default=100,
        help="reserve+capture pairs per scenario (default %(default)s)",
    )
    parser.add_argument(
        "--ledger-entries",
        type=int,
        default=1000,
        help="entries in the account whose ledger is read (default %(default)s)",
    )
    parser.add_argument(
        "--reads", type=int, default=100, help="reads per ledger scenario (default %(default)s)"
    )
    parser.add_argument(
        "--webhooks",
        type=int,
        default=100,
        help="invoice.paid events per webhook scenario (default %(default)s)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["debits", "reservations", "ledger", "webhooks"],
        help="run only these scenarios",
    )
    parser.add_argument(
        "--url",
        help="benchmark a running service at this loopback URL instead of an in-process app",
    )
    parser.add_argument(
        "--api-key",
        help="with --url: a key with every scope (default: "
        "$BENCH_API_KEY, else .dev-credentials.json)",
    )
    parser.add_argument(
        "--webhook-secret",
        help="with --url: the service's webhook secret "
        "(default: $STRIPE_WEBHOOK_SECRET, else "
        ".dev-credentials.json)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("debits", "concurrency", "accounts", "reservations", "reads", "webhooks"):
        if getattr(args, name) < 1:
            raise SystemExit(f"bench: --{name} must be at least 1")
    if args.ledger_entries < 2:
        raise SystemExit("bench: --ledger-entries must be at least 2")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
