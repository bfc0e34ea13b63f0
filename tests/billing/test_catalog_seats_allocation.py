"""The catalog's seats (`credits_per`) and monthly allocation of longer periods (`allocation`):
defaults, the example file, and errors that name the file and the field."""

from pathlib import Path

import pytest

from app.billing.allocation import add_months, month_bounds, months_in
from app.billing.catalog import CatalogError, load_catalog
from tests.support.settings import START

EXAMPLE = Path(__file__).resolve().parents[2] / "plans.example.toml"
PLAN = '[plans.p]\nname = "P"\nstripe_prices = ["price_p"]\nmonthly_credits = 1000\n'


def _load(tmp_path: Path, extra: str):
    path = tmp_path / "plans.toml"
    path.write_text(PLAN + extra, encoding="utf-8")
    return load_catalog(path)


def test_defaults_are_per_subscription_and_monthly(tmp_path):
    plan = _load(tmp_path, "").plans["p"]

    assert (plan.credits_per, plan.allocation) == ("subscription", "monthly")
    assert plan.credits_for(5) == 1000
    assert plan.credits_for(5, months=12) == 12_000


def test_a_seat_plan_counts_the_quantity(tmp_path):
    plan = _load(tmp_path, 'credits_per = "seat"\n').plans["p"]

    assert (plan.credits_for(3), plan.credits_for(0)) == (3000, 0)


def test_the_example_file_has_a_seat_plan_and_a_monthly_yearly_price():
    catalog = load_catalog(EXAMPLE)

    assert catalog.plan_for_price("price_team_seat_monthly").credits_per == "seat"
    assert catalog.plan_for_price("price_starter_yearly").allocation == "monthly"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('credits_per = "seats"\n', "plans.p.credits_per"),
        ("credits_per = 1\n", "plans.p.credits_per"),
        ('allocation = "yearly"\n', "plans.p.allocation"),
    ],
)
def test_a_bad_value_names_the_file_and_the_field(tmp_path, line, field):
    with pytest.raises(CatalogError) as caught:
        _load(tmp_path, line)

    assert f"plans.toml: {field}: " in str(caught.value)


def test_months_of_a_year_are_calendar_months_from_its_start():
    end = START.replace(year=START.year + 1)

    bounds = month_bounds(START, end)

    assert len(bounds) == 13 and bounds[-1] == end
    assert [b.month for b in bounds[:12]] == [11, 12, *range(1, 11)]
    assert all(b.day == 1 and b.hour == 12 for b in bounds)


def test_a_month_of_thirty_days_or_a_short_february_is_one_month():
    assert months_in(START, START.replace(day=1, month=12)) == 1
    jan_31 = START.replace(year=2027, month=1, day=31)
    assert add_months(jan_31, 1).day == 28
    assert months_in(jan_31, add_months(jan_31, 1)) == 1
