"""Pricing usage exactly: integers and one rational remainder per account and meter, so that the
credits charged for any run of usage are the exact price of its total, rounded once.

The state of an (account, meter) is the fractional part `f = n / d` (0 <= f < 1) of the exact
price of all its usage so far. A usage of exact price `x = quantity * credits / per` charges
`R(f + x) - R(f)` credits, where R is the meter's rounding (up, down, or half up); every R is
shifted by whole numbers alike, so the charges of a run add up to R(total) - R(0) = R(total),
whatever the order or grouping of the usage. Then `f` becomes the fractional part of `f + x`.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

from app.billing.rates import Rounding, UnitPrice


@dataclass(frozen=True)
class Remainder:
    """A fraction of a credit in [0, 1), reduced; 0/1 when nothing is carried."""

    n: int = 0
    d: int = 1

    @classmethod
    def stored(cls, doc: dict | None) -> Remainder:
        if not doc:
            return cls()
        return cls(int(doc["n"]), int(doc["d"]))

    def as_doc(self) -> dict[str, int]:
        return {"n": self.n, "d": self.d}


def _rounded(numerator: int, denominator: int, rounding: Rounding) -> int:
    """R(numerator / denominator) for a non-negative fraction."""
    if rounding == "down":
        return numerator // denominator
    if rounding == "up":
        return -(-numerator // denominator)
    return (2 * numerator + denominator) // (2 * denominator)  # half up


def charge(
    carried: Remainder, quantity: int, price: UnitPrice, rounding: Rounding
) -> tuple[int, Remainder]:
    """The whole credits a usage of `quantity` at `price` charges after `carried`, and what it
    leaves carried."""
    # f + x = (n * per + quantity * credits * d) / (d * per)
    denominator = carried.d * price.per
    numerator = carried.n * price.per + quantity * price.credits * carried.d
    credits = _rounded(numerator, denominator, rounding) - _rounded(carried.n, carried.d, rounding)
    left = numerator % denominator
    common = gcd(left, denominator)
    return credits, Remainder(left // common, denominator // common)


def exact_price(quantity: int, price: UnitPrice) -> tuple[int, int]:
    """quantity x price as a fraction (numerator, denominator)."""
    return quantity * price.credits, price.per


def rounded_price(numerator: int, denominator: int, rounding: Rounding) -> int:
    return _rounded(numerator, denominator, rounding)
