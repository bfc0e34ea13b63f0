"""Pricing usage with a carried remainder: the charges of any run add up to its exact total price
rounded once, in any order."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.billing.pricing import Remainder, charge
from app.billing.rates import UnitPrice

prices = st.builds(UnitPrice, credits=st.integers(0, 50), per=st.integers(1, 5000))
roundings = st.sampled_from(["up", "down", "nearest"])


def rounded(value: Fraction, rounding: str) -> int:
    if rounding == "down":
        return value.numerator // value.denominator
    if rounding == "up":
        return -(-value.numerator // value.denominator)
    return (value + Fraction(1, 2)).numerator // (value + Fraction(1, 2)).denominator


@given(
    usage=st.lists(st.tuples(st.integers(1, 10**6), prices), min_size=1, max_size=40),
    rounding=roundings,
    order=st.randoms(use_true_random=False),
)
def test_the_charges_of_any_run_are_its_exact_total_rounded_once(usage, rounding, order):
    order.shuffle(usage)
    carried, charged, exact = Remainder(), 0, Fraction(0)
    for quantity, price in usage:
        credits, carried = charge(carried, quantity, price, rounding)
        assert credits >= 0
        charged += credits
        exact += Fraction(quantity * price.credits, price.per)
        assert charged == rounded(exact, rounding)
        assert Fraction(carried.n, carried.d) == exact - (exact.numerator // exact.denominator)


@pytest.mark.parametrize(
    "rounding, charges",
    [("up", [1, 1, 0]), ("down", [0, 1, 1]), ("nearest", [1, 0, 1])],
)
def test_each_rounding_rule_on_thirds(rounding, charges):
    third = UnitPrice(credits=1, per=3)
    carried, got = Remainder(), []
    for _ in range(3):
        credits, carried = charge(carried, 2, third, rounding)  # 2/3 of a credit each
        got.append(credits)

    assert got == charges
    assert sum(got) == 2 and carried == Remainder()
