"""The report: the machine, the throughput table beside the floor, the volume table, the calls
of each operation, and the issue's acceptance figures checked."""

from __future__ import annotations

import os
import platform

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


def usage_table(usage: list[tuple[int, Result]], floor: Result, debit: Result | None) -> list[str]:
    lines = [
        "| scenario | conns | batches/s | records/s | x single debits | x floor | p50 ms | "
        "p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, r in usage:
        records = r.throughput * size
        vs_debit = records / debit.throughput if debit and debit.throughput else float("nan")
        vs_floor = records / floor.throughput if floor.throughput else float("nan")
        lines.append(
            f"| {r.name} | {r.connections} | {r.throughput:,.1f} | {records:,.0f} | "
            f"{vs_debit:.1f} | {vs_floor:.2f} | {r.percentile(50):.0f} | "
            f"{r.percentile(99):.0f} | {r.errors} |"
        )
    first = next((r.first_error for _, r in usage if r.first_error), None)
    if first:
        lines.append(f"\nfirst error: {first}")
    return lines


def usage_acceptance(usage: list[tuple[int, Result]], debit: Result | None) -> list[str]:
    checks = []
    for size, r in usage:
        if size == 1000 and debit and debit.throughput:
            ratio = r.throughput * size / debit.throughput
            checks.append(
                (
                    f"usage records/s in batches of 1,000 {ratio:.1f} x single debits/s "
                    f"(>= 10), {r.errors} errors",
                    ratio >= 10 and not r.errors,
                )
            )
    return [f"- [{'x' if ok else ' '}] {text}" for text, ok in checks]
