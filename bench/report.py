"""The report: the machine, the throughput table beside the floor, the volume table, the calls
of each operation, and the issue's acceptance figures checked."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

from bench.calls import Calls
from bench.runner import Result
from bench.volume import Stage


def load() -> str:
    """The load average over 1, 5 and 15 minutes (the machine may be shared)."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    load_ = load()
    return (
        f"{platform.machine()} {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; load average {load_}"
    )


def throughput_table(results: list[Result], floor: Result) -> list[str]:
    lines = [
        "| scenario | conns | ops/s | x floor | p50 ms | p99 ms | max ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        ratio = r.throughput / floor.throughput if floor.throughput else float("nan")
        lines.append(
            f"| {r.name} | {r.connections} | {r.throughput:,.0f} | {ratio:.2f} | "
            f"{r.percentile(50):.1f} | {r.percentile(99):.1f} | {r.worst:.1f} | "
            f"{r.errors} |"
        )
    first = next((r.first_error for r in results if r.first_error), None)
    if first:
        lines.append(f"\nfirst error: {first}")
    return lines


def volume_table(stages: list[Stage]) -> list[str]:
    lines = [
        "| ledger entries | accounts | debit p50 ms | debit p99 ms | debit max ms | "
        "reads p50 ms | reads max ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in stages:
        lines.append(
            f"| {s.entries:,} | {s.accounts:,} | {s.debit.percentile(50):.2f} | "
            f"{s.debit.percentile(99):.2f} | {s.debit.worst:.2f} | "
            f"{s.reads.percentile(50):.2f} | {s.reads.worst:.2f} |"
        )
    return lines


def calls_table(calls: list[Calls]) -> list[str]:
    lines = ["| operation | calls | commits | which |", "| --- | ---: | ---: | --- |"]
    for c in calls:
        lines.append(f"| {c.operation} | {c.calls} | {c.commits} | {', '.join(c.made)} |")
    return lines


def acceptance(by_name: dict[str, Result], floor: Result, stages: list[Stage]) -> list[str]:
    checks = []
    debit, read = by_name.get("debit"), by_name.get("account read")
    if debit and floor.throughput:
        ratio = debit.throughput / floor.throughput
        checks.append(
            (
                f"debit throughput {ratio:.2f} x floor (>= 0.3), {debit.errors} errors",
                ratio >= 0.3 and not debit.errors,
            )
        )
        spread = debit.percentile(99) / debit.percentile(50)
        checks.append((f"debit p99 {spread:.1f} x p50 (<= 5)", spread <= 5))
    if read and floor.throughput:
        ratio = read.throughput / floor.throughput
        checks.append((f"account read {ratio:.2f} x floor (>= 0.6)", ratio >= 0.6))
    if len(stages) >= 2:
        first, last = stages[0], stages[-1]
        growth = last.debit.percentile(50) / first.debit.percentile(50)
        checks.append(
            (
                f"debit p50 at {last.entries:,} entries {growth:.2f} x at {first.entries:,} (<= 2)",
                growth <= 2,
            )
        )
        worst = max(last.debit.worst, last.reads.worst)
        checks.append(
            (f"slowest request at {last.entries:,} entries {worst:.1f} ms (<= 50)", worst <= 50)
        )
    return [f"- [{'x' if ok else ' '}] {text}" for text, ok in checks]


def tail_table(results: list[Result]) -> list[str]:
    lines = [
        "| scenario | conns | ops/s | p50 ms | p99 ms | p99.9 ms | max ms | p99 / p50 | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        spread = r.percentile(99) / r.percentile(50)
        lines.append(
            f"| {r.name} | {r.connections} | {r.throughput:,.0f} | {r.percentile(50):.1f} | "
            f"{r.percentile(99):.1f} | {r.percentile(99.9):.1f} | {r.worst:.1f} | "
            f"{spread:.1f} | {r.errors} |"
        )
    return lines


def tail_acceptance(debits: Result) -> list[str]:
    spread = debits.percentile(99) / debits.percentile(50)
    ok = spread <= 5 and not debits.errors
    return [f"- [{'x' if ok else ' '}] tail: debit p99 {spread:.1f} x p50 (<= 5)"]


@dataclass(frozen=True)
class Debits:
    """The same run's single debits a batch is compared with: of one account (the throughput
    table's `debit`: group commit joins its concurrent debits into one unit of work), and of
    the batches' own accounts in turn (each debit a unit of its own: a batch's records sent
    one request each)."""

    one_account: Result | None
    same_accounts: Result


def _ratio(records: float, debits: Result | None) -> float:
    return records / debits.throughput if debits and debits.throughput else float("nan")


def usage_table(usage: list[tuple[int, Result]], floor: Result, debits: Debits) -> list[str]:
    across = debits.same_accounts
    lines = [
        "| scenario | conns | ops/s | records/s | x debits, same accounts | x debits, one "
        "account | x floor | p50 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {across.name} | {across.connections} | {across.throughput:,.0f} | "
        f"{across.throughput:,.0f} | 1.0 | {_ratio(across.throughput, debits.one_account):.2f} "
        f"| {_ratio(across.throughput, floor):.2f} | {across.percentile(50):.1f} | "
        f"{across.percentile(99):.1f} | {across.errors} |",
    ]
    for size, r in usage:
        records = r.throughput * size
        lines.append(
            f"| {r.name} | {r.connections} | {r.throughput:,.1f} | {records:,.0f} | "
            f"{_ratio(records, across):.1f} | {_ratio(records, debits.one_account):.1f} | "
            f"{_ratio(records, floor):.2f} | {r.percentile(50):.0f} | "
            f"{r.percentile(99):.0f} | {r.errors} |"
        )
    first = next((r.first_error for r in [across, *(r for _, r in usage)] if r.first_error), None)
    if first:
        lines.append(f"\nfirst error: {first}")
    return lines


def usage_acceptance(usage: list[tuple[int, Result]], debits: Debits) -> list[str]:
    """Records/s in batches of 1,000 against single debits of the same accounts (checked), and
    against the one-account row for reference."""
    lines = []
    for size, r in usage:
        if size != 1000:
            continue
        records = r.throughput * size
        ratio = _ratio(records, debits.same_accounts)
        errors = r.errors + debits.same_accounts.errors
        ok = ratio >= 10 and not errors
        lines.append(
            f"- [{'x' if ok else ' '}] usage records/s in batches of 1,000 {ratio:.1f} x single "
            f"debits/s of the same accounts (>= 10), {errors} errors"
        )
        lines.append(
            f"- for reference: {_ratio(records, debits.one_account):.1f} x single debits/s of "
            "one account (group commit makes their concurrent debits one unit of work)"
        )
    return lines
