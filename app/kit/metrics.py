"""Process-local counters, and gauges read from the database at each scrape, served in
Prometheus' text format at GET /metrics."""

from __future__ import annotations

import hmac
import ipaddress
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.kit.errors import Forbidden, Unauthenticated

JOB_FAILURES = "credit_ledger_job_failures_total"

HELP = {
    "credit_ledger_webhook_events_total": "Stripe events applied, by event type and outcome.",
    "credit_ledger_webhook_failures_total": "Stripe events left failed, by reason "
    "(unknown_price, unknown_pack, ...).",
    "credit_ledger_webhook_deliveries_total": "Outgoing webhook attempts, by outcome "
    "(succeeded, retrying, failed).",
    JOB_FAILURES: "Accounts or batches a background job skipped after an error, by job "
    "(expiry, allocation, notices, retention, purge, numbering); logged with the cause.",
    "credit_ledger_auth_failures_total": "Credentials refused, by door (api: a bearer key or "
    "token on /v1; console: the sign-in form).",
    "credit_ledger_topups_total": "Auto top-ups by outcome (succeeded, failed, canceled, "
    "cap_reached, disabled, retried: Stripe unreachable, tried again later).",
    "credit_ledger_transaction_retries_total": "Units of work run again, by the error label "
    "that made the driver re-run them (write conflicts: TransientTransactionError).",
    "credit_ledger_group_commits_total": "Units of work of debits and holds run by group "
    "commit (one per batch of one account's concurrent requests; a request alone is one).",
    "credit_ledger_group_commit_requests_total": "Debits and holds applied by those units: "
    "over credit_ledger_group_commits_total, the mean batch size.",
}
GAUGES = {
    "credit_ledger_events_oldest_undelivered_seconds": "Age of the oldest outgoing event not "
    "yet delivered to every endpoint (0: none).",
}


class Metrics:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        # Each returns {gauge name: value}; asked at every scrape.
        self.collectors: list[Callable[[], Awaitable[dict[str, float]]]] = []
        self._gauges: dict[str, float] = {}

    async def collect(self) -> None:
        for collector in self.collectors:
            self._gauges.update(await collector())

    def inc(self, name: str, **labels: str) -> None:
        self._counts[(name, tuple(sorted(labels.items())))] += 1

    def value(self, name: str, **labels: str) -> int:
        return self._counts[(name, tuple(sorted(labels.items())))]

    def render(self) -> str:
        lines = []
        for name, text in HELP.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} counter"]
            for (metric, labels), count in sorted(self._counts.items()):
                if metric == name:
                    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                    lines.append(f"{name}{{{inner}}} {count}")
        for name, text in GAUGES.items():
            if name in self._gauges:
                lines += [
                    f"# HELP {name} {text}",
                    f"# TYPE {name} gauge",
                    f"{name} {self._gauges[name]:g}",
                ]
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True)
class MetricsAccess:
    """Who may read /metrics: anyone (neither set), callers from METRICS_ALLOWED_NETWORKS,
    callers with METRICS_TOKEN as a bearer token, or both."""

    token: str | None
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    def check(self, address: str, authorization: str) -> None:
        if self.networks and not _within(address, self.networks):
            raise Forbidden("/metrics is not served to this address (METRICS_ALLOWED_NETWORKS)")
        if self.token is not None:
            scheme, _, given = authorization.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self.token.encode()
            ):
                raise Unauthenticated("/metrics needs METRICS_TOKEN as a bearer token")


def _within(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in networks)
