"""The usage chart's geometry: bars of an inline SVG, computed here so templates only draw."""

from __future__ import annotations

from dataclasses import dataclass

from app.ledger.read_schemas import Usage

WIDTH, HEIGHT, GAP = 600, 120, 2


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


def usage_bars(usage: Usage) -> list[Bar]:
    count = max(len(usage.data), 1)
    top = max((b.credits for b in usage.data), default=0) or 1
    width = WIDTH / count
    bars = []
    for i, bucket in enumerate(usage.data):
        height = round(HEIGHT * bucket.credits / top, 1)
        label = f"{bucket.start:%Y-%m-%d}: {bucket.credits} credits, {bucket.operations} operations"
        bars.append(
            Bar(
                round(i * width, 1),
                round(HEIGHT - height, 1),
                round(max(width - GAP, 1), 1),
                height,
                label,
            )
        )
    return bars
