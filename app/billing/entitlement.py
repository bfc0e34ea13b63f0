"""What one credited unit of a subscription period is worth, from what is known of it: the
plans (x seats) seen in force during the unit, the share of a full period it was billed for,
and the upgrade policy. A pure function of that knowledge, whatever order it arrived in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any, Literal

Point = tuple[int, int]  # (unix second, credits of the plan x seats in force from then)

# A bound on what one unit remembers (Tiger Style): only the points that raise the running
# highest survive, so it grows by one per real upgrade; this many is far past any real period.
MAX_POINTS = 64


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def with_point(points: list[Point], at: int, credits: int) -> list[Point]:
    """`points` plus one observation, keeping only those no earlier-or-equal observation
    matches or beats: the staircase of the highest plan in force so far. The result depends on
    the set of observations only, so replays and reorders give the same staircase."""
    known = {(int(t), int(c)) for t, c in points} | {(at, credits)}
    kept: list[Point] = []
    for t, c in sorted(known, key=lambda p: (p[0], -p[1])):
        if not kept or c > kept[-1][1]:
            kept.append((t, c))
    return kept[-MAX_POINTS:]


@dataclass(frozen=True)
class Unit:
    """A span of a subscription period whose credits are granted together: the whole period,
    or one month of a longer period whose credits come monthly."""

    start: datetime
    end: datetime
    points: list[Point]
    share: Fraction = Fraction(1)  # the part of a full period billed (a stub is less)

    def worth(self, policy: Literal["prorate", "full", "none"]) -> int:
        """The unit's entitlement. `none`: the plan it started with; `full`: the highest plan
        seen; `prorate`: the time average over the unit of the highest plan seen so far, which
        is the start's credits plus each raise x the fraction of the unit left at the raise."""
        if not self.points:
            return 0
        if policy == "none":
            credits = Fraction(self.points[0][1])
        elif policy == "full":
            credits = Fraction(self.points[-1][1])
        else:
            credits = self._time_average()
        return int(credits * self.share)  # floor: the values are never negative

    def _time_average(self) -> Fraction:
        start, end = unix(self.start), unix(self.end)
        if end <= start:
            return Fraction(self.points[-1][1])
        area = 0
        for n, (t, credits) in enumerate(self.points):
            since = min(max(t, start), end) if n else start
            until = self.points[n + 1][0] if n + 1 < len(self.points) else end
            until = min(max(until, start), end)
            area += credits * max(until - since, 0)
        return Fraction(area, end - start)


def share_of(amount: Any, unit_amount: Any, quantity: int) -> Fraction:
    """The part of a full period a plan line bills, from Stripe's own amounts: the line's
    `amount` over the price's unit amount x quantity (a stub up to a future billing-cycle
    anchor bills less). Unknown or non-positive figures, or more than the price, count as
    a full period: the rule only ever lowers a stub, never raises anything."""
    try:
        full = Fraction(str(unit_amount)) * quantity
        billed = Fraction(int(amount))
    except (TypeError, ValueError, ZeroDivisionError):
        return Fraction(1)
    if full <= 0 or billed <= 0 or billed >= full:
        return Fraction(1)
    return billed / full


def stored_share(value: Any) -> Fraction:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return Fraction(value[0], value[1]) if value[1] > 0 else Fraction(1)
    return Fraction(1)
