"""The rate card in the catalog: meters, versions, per-plan prices; refused with the line."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.billing.catalog import CatalogError, load_catalog
from app.billing.rates import UnitPrice

EXAMPLE = Path(__file__).resolve().parents[2] / "plans.example.toml"

PLAN = """[plans.pro]
name = "Pro"
stripe_prices = ["price_pro"]
monthly_credits = 1000
"""

METER = """
[meters."image.hd"]
[[meters."image.hd".versions]]
effective_from = 2026-01-01T00:00:00Z
credits = 3
"""


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # messages start with "plans.toml: "


def load_error(tmp_path: Path, text: str) -> str:
    (tmp_path / "plans.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(Path("plans.toml"))
    return str(caught.value)


def test_the_example_card_has_a_scheduled_change_and_a_block_price():
    catalog = load_catalog(EXAMPLE)

    image = catalog.meters["image.1024px"]
    assert [v.credits for v in image.versions] == [3, 4]
    assert image.versions[1].effective_from == datetime(2027, 1, 1, tzinfo=UTC)
    assert image.versions[0].price_for("scale") == UnitPrice(credits=2)
    assert image.versions[0].price_for("starter") == UnitPrice(credits=3)
    tokens = catalog.meters["llm.gpt-x.input_tokens"]
    assert tokens.versions[0].price_for(None) == UnitPrice(credits=1, per=1000)
    assert tokens.rounding == "up"


def test_the_version_in_effect_is_the_last_one_started():
    image = load_catalog(EXAMPLE).meters["image.1024px"]

    assert image.version_at(datetime(2025, 12, 31, tzinfo=UTC)) is None
    assert image.version_at(datetime(2026, 6, 1, tzinfo=UTC))[0] == 1
    assert image.version_at(datetime(2027, 1, 1, tzinfo=UTC))[0] == 2


def test_a_bad_price_names_the_field_and_its_line(tmp_path):
    message = load_error(tmp_path, PLAN + METER.replace("credits = 3", "credits = -3"))

    assert message == (
        "plans.toml: meters.image.hd.versions[0].credits: Input should be greater than or equal "
        "to 0, got -3 (line 9)"
    )


def test_versions_out_of_order_are_refused_with_the_line(tmp_path):
    later = METER.replace('[meters."image.hd"]\n', "")
    text = PLAN + METER.replace("2026-01-01", "2026-06-01") + later

    message = load_error(tmp_path, text)

    assert "meters.image.hd: versions must be listed in order" in message
    assert message.endswith("(line 6)")


def test_a_price_for_a_plan_not_in_the_catalog_is_refused(tmp_path):
    message = load_error(tmp_path, PLAN + METER + "plans.gold = { credits = 1 }\n")

    assert "meters.image.hd: names plan 'gold', which is not in [plans]" in message


def test_an_unknown_field_and_a_time_without_offset_are_refused(tmp_path):
    assert "unknown field (line 10)" in load_error(tmp_path, PLAN + METER + "credit = 1\n")
    naive = PLAN + METER.replace("2026-01-01T00:00:00Z", "2026-01-01T00:00:00")
    assert "effective_from needs an offset" in load_error(tmp_path, naive)


def test_per_values_whose_common_multiple_is_too_big_are_refused(tmp_path):
    text = PLAN + METER + "per = 999999937\nplans.pro = { credits = 1, per = 999999929 }\n"

    assert "least common multiple" in load_error(tmp_path, text)


def test_a_meter_needs_a_version(tmp_path):
    message = load_error(tmp_path, PLAN + '[meters."image.hd"]\nrounding = "up"\n')

    assert "meters.image.hd.versions: required field is missing" in message
