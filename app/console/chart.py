"""The usage chart's geometry: bars on a dated axis with a credits scale, computed here so the
template only draws. Everything a reader needs is printed (dates, the scale, each bar's
credits); the tooltips only repeat it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.accounts.schemas import Usage

WIDTH, HEIGHT = 760, 220
# The plot inside the picture: room on the left for the scale, below for the dates, above
# for the tallest bar's figure.
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 36, 40
GAP = 2
TICKS = 5  # gridlines above zero, at most about
DATE_EVERY = 7  # a date under every 7th bar (a week of days), so no two labels touch
# The figures' font is 9px: about 5.6px a character. Wider than its bar, every other figure
# goes a line higher, so neighbours never overlap.
CHAR_WIDTH, FIGURE_LINE = 5.6, 13


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the tooltip
    figure: str  # printed above the bar ("" for a day without use)
    center: float
    figure_y: float


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class DateLabel:
    x: float
    text: str


@dataclass(frozen=True)
class UsageChart:
    width: int
    height: int
    left: int
    right: float  # x of the plot's right edge
    top: int
    bottom: float  # y of the zero line
    bars: list[Bar]
    ticks: list[Tick]
    dates: list[DateLabel]
    unit: str  # what a bar measures, e.g. "credits per day"
    axis: str  # what the dates are, e.g. "day (UTC)"


def nice_step(most: int, ticks: int = TICKS) -> int:
    """The step of a readable scale: 1, 2 or 5 times a power of ten, such that about `ticks`
    steps reach `most`."""
    raw = max(most, 1) / ticks
    power = 1
    while power * 10 <= raw:
        power *= 10
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def compact(credits: int) -> str:
    """A figure short enough to sit above a bar: 950, 1.2k, 15k, 3.4M."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if credits >= size:
            value = credits / size
            if value >= 10:
                return f"{round(value)}{suffix}"
            return f"{value:.1f}".removesuffix(".0") + suffix
    return str(credits)


def _date(when: datetime) -> str:
    return f"{when:%b} {when.day}"


def usage_chart(usage: Usage) -> UsageChart:
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    zero = TOP + plot_height
    most = max((b.credits for b in usage.data), default=0)
    step = nice_step(most)
    top = step * max(-(-most // step), 1)  # the scale's end: the first step at or above most
    slot = plot_width / max(len(usage.data), 1)
    widest = max((len(compact(b.credits)) for b in usage.data), default=0) * CHAR_WIDTH
    stagger = widest > slot - GAP
    bars, dates = [], []
    for i, bucket in enumerate(usage.data):
        height = round(plot_height * bucket.credits / top, 1)
        raised = FIGURE_LINE if stagger and i % 2 else 0
        x = LEFT + i * slot
        center = round(x + slot / 2, 1)
        bars.append(
            Bar(
                x=round(x + GAP / 2, 1),
                y=round(zero - height, 1),
                width=round(max(slot - GAP, 1), 1),
                height=height,
                label=f"{bucket.start:%Y-%m-%d}: {bucket.credits} credits, "
                f"{bucket.operations} operations",
                figure=compact(bucket.credits) if bucket.credits else "",
                center=center,
                figure_y=round(zero - height - 3 - raised, 1),
            )
        )
        if i % DATE_EVERY == 0:
            dates.append(DateLabel(center, _date(bucket.start)))
    ticks = [
        Tick(round(zero - plot_height * value / top, 1), compact(value))
        for value in range(0, top + 1, step)
    ]
    return UsageChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=zero,
        bars=bars,
        ticks=ticks,
        dates=dates,
        unit=f"credits per {usage.group_by}",
        axis=f"{usage.group_by} (UTC)",
    )
