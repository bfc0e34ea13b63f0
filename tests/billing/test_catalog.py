"""The plan catalog: loading the example, refusing bad files with clear messages, rollover math."""

from pathlib import Path

import pytest

from app.billing.catalog import (
    BillingPolicy,
    Catalog,
    CatalogError,
    Pack,
    Plan,
    Rollover,
    load_catalog,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "plans.example.toml"

VALID_PLAN = """
[plans.starter]
name = "Starter"
stripe_prices = ["price_starter_monthly"]
monthly_credits = 1000
"""


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    # Relative paths keep the expected messages exact: they start with "plans.toml: ".
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "plans.toml").write_text(text, encoding="utf-8")
    return Path("plans.toml")


def load_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, text))
    return str(caught.value)


# ---------------------------------------------------------------- the example file


def test_example_catalog_loads_billing_policy():
    catalog = load_catalog(EXAMPLE)

    assert catalog.billing == BillingPolicy(grace_days=3, upgrade_credits="prorate")


def test_example_catalog_plans():
    catalog = load_catalog(EXAMPLE)

    assert set(catalog.plans) == {"starter", "pro", "scale", "team"}
    starter, pro, scale = catalog.plans["starter"], catalog.plans["pro"], catalog.plans["scale"]
    assert starter.stripe_prices == ["price_starter_monthly", "price_starter_yearly"]
    assert (starter.monthly_credits, starter.trial_credits) == (1000, 100)
    assert starter.rollover == Rollover(mode="none")
    assert (pro.monthly_credits, pro.trial_credits) == (5000, 200)
    assert pro.rollover == Rollover(mode="max", limit=2000)
    assert (scale.monthly_credits, scale.trial_credits) == (20000, 0)
    assert scale.rollover == Rollover(mode="all")


def test_example_catalog_packs():
    catalog = load_catalog(EXAMPLE)

    assert catalog.packs["boost_500"].credits == 500
    assert catalog.packs["boost_500"].expires_after_days == 365
    assert catalog.packs["boost_2000"].credits == 2000
    assert catalog.packs["boost_2000"].expires_after_days is None


def test_lookup_by_price_and_key():
    catalog = load_catalog(EXAMPLE)

    assert catalog.plan_for_price("price_pro_yearly") is catalog.plans["pro"]
    assert catalog.pack_for_price("price_boost_500") is catalog.packs["boost_500"]
    assert catalog.plan_for_price("price_boost_500") is None
    assert catalog.pack_for_price("price_pro_yearly") is None
    assert catalog.plan_for_price("price_unknown") is None
    assert catalog.plan("scale") is catalog.plans["scale"]
    assert catalog.pack("boost_2000") is catalog.packs["boost_2000"]
    assert catalog.plan("nope") is None
    assert catalog.pack("nope") is None


def test_table_name_is_the_key_and_pack_name_defaults_to_it(tmp_path):
    catalog = load_catalog(
        write(tmp_path, '[packs.boost]\nstripe_prices = ["price_boost"]\ncredits = 10\n')
    )

    assert catalog.packs["boost"].key == "boost"
    assert catalog.packs["boost"].name == "boost"


def test_defaults_when_optional_fields_are_left_out(tmp_path):
    catalog = load_catalog(write(tmp_path, VALID_PLAN))

    assert catalog.billing == BillingPolicy(grace_days=3, upgrade_credits="prorate")
    assert catalog.plans["starter"].trial_credits == 0
    assert catalog.plans["starter"].rollover == Rollover(mode="none")
    assert catalog.packs == {}


def test_rollover_dumps_back_to_catalog_notation():
    catalog = load_catalog(EXAMPLE)

    assert catalog.plans["pro"].model_dump()["rollover"] == "max:2000"


# ---------------------------------------------------------------- file errors


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "absent.toml"

    with pytest.raises(CatalogError) as caught:
        load_catalog(path)

    assert str(caught.value) == f"{path}: file not found"


def test_toml_syntax_error_names_the_line(tmp_path):
    message = load_error(tmp_path, '[billing]\ngrace_days = 3\nupgrade_credits "full"\n')

    assert "plans.toml: TOML syntax error" in message
    assert "line 3" in message


def test_catalog_error_is_a_value_error(tmp_path):
    with pytest.raises(ValueError):
        load_catalog(tmp_path / "absent.toml")


# ---------------------------------------------------------------- validation errors


def test_bad_rollover_names_the_field_and_the_value(tmp_path):
    message = load_error(tmp_path, VALID_PLAN + 'rollover = "some"\n')

    assert message == (
        'plans.toml: plans.starter.rollover: expected "none", "all" or "max:N", got "some" (line 6)'
    )


@pytest.mark.parametrize("value", ['"max:"', '"max:-1"', '"max:1.5"', '"MAX:5"', "5"])
def test_malformed_rollover_is_refused(tmp_path, value):
    message = load_error(tmp_path, VALID_PLAN + f"rollover = {value}\n")

    assert "plans.starter.rollover: expected" in message


def test_unknown_field_is_refused(tmp_path):
    message = load_error(tmp_path, VALID_PLAN + "monthly_credit = 5\n")

    assert "plans.toml: plans.starter.monthly_credit: unknown field" in message


def test_unknown_top_level_section_is_refused(tmp_path):
    message = load_error(tmp_path, VALID_PLAN + "[discounts.summer]\npercent = 10\n")

    assert "plans.toml: discounts: unknown field" in message


def test_missing_required_field_is_named(tmp_path):
    message = load_error(tmp_path, '[plans.starter]\nname = "Starter"\nmonthly_credits = 1\n')

    assert "plans.toml: plans.starter.stripe_prices: required field is missing" in message


def test_empty_price_list_is_refused(tmp_path):
    message = load_error(
        tmp_path, '[plans.starter]\nname = "S"\nstripe_prices = []\nmonthly_credits = 1\n'
    )

    assert "plans.toml: plans.starter.stripe_prices: must not be empty" in message


def test_negative_credits_are_refused(tmp_path):
    message = load_error(tmp_path, VALID_PLAN.replace("1000", "-5"))

    assert "plans.toml: plans.starter.monthly_credits: " in message
    assert "got -5" in message


def test_credits_given_as_a_string_are_refused(tmp_path):
    message = load_error(tmp_path, VALID_PLAN.replace("1000", '"1000"'))

    assert 'plans.starter.monthly_credits: Input should be a valid integer, got "1000"' in message


def test_bad_billing_policy_is_refused(tmp_path):
    message = load_error(tmp_path, '[billing]\ngrace_days = -1\nupgrade_credits = "half"\n')

    assert "plans.toml: billing.grace_days: " in message
    assert "plans.toml: billing.upgrade_credits: " in message
    assert 'got "half"' in message


def test_pack_without_credits_is_refused(tmp_path):
    message = load_error(tmp_path, '[packs.boost]\nstripe_prices = ["price_boost"]\ncredits = 0\n')

    assert "plans.toml: packs.boost.credits: " in message


def test_pack_with_zero_expiry_is_refused(tmp_path):
    message = load_error(
        tmp_path,
        '[packs.boost]\nstripe_prices = ["price_boost"]\ncredits = 5\nexpires_after_days = 0\n',
    )

    assert "plans.toml: packs.boost.expires_after_days: " in message


def test_non_string_price_is_named_by_index(tmp_path):
    message = load_error(tmp_path, VALID_PLAN.replace('["price_starter_monthly"]', '["p", 3]'))

    assert "plans.toml: plans.starter.stripe_prices[1]: " in message


def test_bad_table_name_is_refused(tmp_path):
    message = load_error(tmp_path, VALID_PLAN.replace("[plans.starter]", '[plans."a b"]'))

    assert 'plans.toml: plans: table name "a b"' in message


def test_every_problem_is_reported_one_per_line(tmp_path):
    message = load_error(tmp_path, '[billing]\ngrace_days = -1\ncolour = "red"\n')

    assert message.splitlines() == [
        "plans.toml: billing.grace_days: Input should be greater than or equal to 0, got -1 "
        "(line 2)",
        "plans.toml: billing.colour: unknown field (line 3)",
    ]


# ---------------------------------------------------------------- duplicate prices


def test_price_in_two_plans_is_refused(tmp_path):
    message = load_error(
        tmp_path,
        VALID_PLAN
        + '[plans.pro]\nname = "Pro"\nstripe_prices = ["price_starter_monthly"]\n'
        + "monthly_credits = 5000\n",
    )

    assert message == (
        'plans.toml: plans.pro.stripe_prices[0]: price "price_starter_monthly" '
        "is already used by plans.starter.stripe_prices[0]"
    )


def test_price_in_a_plan_and_a_pack_is_refused(tmp_path):
    message = load_error(
        tmp_path,
        VALID_PLAN + '[packs.boost]\nstripe_prices = ["price_starter_monthly"]\ncredits = 5\n',
    )

    assert 'packs.boost.stripe_prices[0]: price "price_starter_monthly"' in message
    assert "plans.starter.stripe_prices[0]" in message


def test_price_listed_twice_in_one_plan_is_refused(tmp_path):
    message = load_error(
        tmp_path, VALID_PLAN.replace('["price_starter_monthly"]', '["price_a", "price_a"]')
    )

    assert 'plans.starter.stripe_prices[1]: price "price_a" is already used' in message


def test_every_duplicate_is_reported_on_its_own_line(tmp_path):
    message = load_error(
        tmp_path,
        VALID_PLAN.replace('["price_starter_monthly"]', '["price_a", "price_b"]')
        + '[packs.boost]\nstripe_prices = ["price_a", "price_b"]\ncredits = 5\n',
    )

    assert message.splitlines() == [
        'plans.toml: packs.boost.stripe_prices[0]: price "price_a" '
        "is already used by plans.starter.stripe_prices[0]",
        'plans.toml: packs.boost.stripe_prices[1]: price "price_b" '
        "is already used by plans.starter.stripe_prices[1]",
    ]


def test_duplicates_are_refused_when_built_in_code_too():
    plan = Plan(key="a", name="A", stripe_prices=["price_x"], monthly_credits=1)
    pack = Pack(key="b", name="B", stripe_prices=["price_x"], credits=1)

    with pytest.raises(ValueError, match="already used"):
        Catalog(plans={"a": plan}, packs={"b": pack})


# ---------------------------------------------------------------- rollover


def test_rollover_none_carries_nothing():
    assert Rollover.parse("none").carry(700) == 0


def test_rollover_all_carries_everything():
    assert Rollover.parse("all").carry(700) == 700


def test_rollover_max_caps_the_carry():
    assert Rollover.parse("max:500").carry(700) == 500


def test_rollover_max_carries_less_than_the_cap_whole():
    assert Rollover.parse("max:500").carry(300) == 300


def test_rollover_never_carries_a_negative_amount():
    assert Rollover.parse("all").carry(-10) == 0


def test_rollover_max_zero_carries_nothing():
    assert Rollover.parse("max:0").carry(300) == 0


def test_key_field_that_contradicts_the_table_name_is_refused(tmp_path):
    message = load_error(tmp_path, VALID_PLAN + 'key = "pro"\n')

    assert message == "plans.toml: plans.starter.key: must match the table name (or be left out)"
