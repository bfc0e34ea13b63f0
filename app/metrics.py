"""Process-local counters, served in Prometheus' text format at GET /metrics."""

from __future__ import annotations

from collections import Counter

HELP = {
    "credit_ledger_webhook_events_total": "Stripe events applied, by event type and outcome.",
    "credit_ledger_webhook_failures_total": "Stripe events left failed, by reason "
                                            "(unknown_price, unknown_pack, ...).",
}


class Metrics:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()

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
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
