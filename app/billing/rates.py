"""The rate card: what a unit of each meter costs in credits, per plan, from which time."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

# Meter names read like `image.1024px` or `llm.gpt-x.input_tokens`. No "~": a meter's remainder
# is stored under the name with "." spelled "~" (MongoDB field paths split on ".").
MeterKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
PlanKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Rounding = Literal["up", "down", "nearest"]

# Bounds that keep every price an exact int64 and every stored remainder small: a remainder's
# denominator divides the lcm of the meter's `per` values, which must stay under MAX_DENOMINATOR;
# a usage's price is at most MAX_UNIT_CREDITS x its quantity (at most 10^9, schemas.py), so
# never over the 10^12 credits one request may move.
MAX_UNIT_CREDITS = 1_000
MAX_PER = 1_000_000_000
MAX_DENOMINATOR = 10**12
MAX_VERSIONS = 100  # a meter's history: enough for years of weekly price changes


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class UnitPrice(_Model):
    """`credits` for every `per` units (`credits = 1, per = 1000`: a credit per 1,000 tokens)."""

    credits: int = Field(ge=0, le=MAX_UNIT_CREDITS)
    per: int = Field(default=1, ge=1, le=MAX_PER)


class RateVersion(_Model):
    """The meter's price from `effective_from` until the next version's; `plans` override it
    for the accounts of those plans."""

    effective_from: datetime
    credits: int = Field(ge=0, le=MAX_UNIT_CREDITS)
    per: int = Field(default=1, ge=1, le=MAX_PER)
    plans: dict[PlanKey, UnitPrice] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _aware(self) -> RateVersion:
        if self.effective_from.tzinfo is None:
            raise PydanticCustomError(
                "rate_time", "effective_from needs an offset, e.g. 2026-01-01T00:00:00Z"
            )
        return self

    @property
    def default_price(self) -> UnitPrice:
        return UnitPrice(credits=self.credits, per=self.per)

    def price_for(self, plan: str | None) -> UnitPrice:
        return self.plans.get(plan or "", self.default_price)


class Meter(_Model):
    """One thing the product measures, its rounding rule and its prices over time."""

    key: str
    name: str = ""
    unit: str = "unit"
    # Applied once to the running total of the exact price (see app/billing/pricing.py).
    rounding: Rounding = "up"
    versions: list[RateVersion] = Field(min_length=1, max_length=MAX_VERSIONS)

    @model_validator(mode="after")
    def _versions_in_order(self) -> Meter:
        for earlier, later in zip(self.versions, self.versions[1:], strict=False):
            if later.effective_from <= earlier.effective_from:
                raise PydanticCustomError(
                    "rate_order",
                    "versions must be listed in order of effective_from, each later than the "
                    "one before ({got})",
                    {"got": later.effective_from.isoformat()},
                )
        pers = [v.per for v in self.versions] + [
            p.per for v in self.versions for p in v.plans.values()
        ]
        if math.lcm(*pers) > MAX_DENOMINATOR:
            raise PydanticCustomError(
                "rate_per",
                "the least common multiple of this meter's `per` values is over {most}: use "
                "per values that divide one another (1, 1000, 1000000)",
                {"most": MAX_DENOMINATOR},
            )
        return self

    def version_at(self, when: datetime) -> tuple[int, RateVersion] | None:
        """The version in effect at `when` and its number (1, 2... in the card's order), or
        None before the first one."""
        found = None
        for number, version in enumerate(self.versions, start=1):
            if version.effective_from > when:
                break
            found = (number, version)
        return found

    def plans_named(self) -> set[str]:
        return {plan for version in self.versions for plan in version.plans}


def storage_key(meter: str) -> str:
    """The meter's name as a MongoDB field name (no "." in it)."""
    return meter.replace(".", "~")
