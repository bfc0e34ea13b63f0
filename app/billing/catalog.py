"""The plan catalog: which Stripe prices are which plans and credit packs, read from TOML."""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.billing.rates import Meter, MeterKey

__all__ = [
    "AutoTopupDefaults",
    "BillingPolicy",
    "Catalog",
    "CatalogError",
    "Pack",
    "Plan",
    "Rollover",
    "Meter",
    "load_catalog",
]

# Stripe ids never contain whitespace; a stray space in the TOML would silently never match.
PriceId = Annotated[str, StringConstraints(min_length=1, pattern=r"^\S+$")]
CatalogKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
_KEY_RULE = 'use 1 to 64 letters, digits, "_" or "-"'

_ROLLOVER_MAX = re.compile(r"^max:(\d+)$")


class CatalogError(ValueError):
    """The catalog file is missing or wrong; the message names the file and the field."""

    def __init__(self, path: str, problems: Iterable[str]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__("\n".join(f"{path}: {problem}" for problem in self.problems))


class _Model(BaseModel):
    # strict: TOML has real ints and strings, so "3" for an int is a typo, not something to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Rollover(_Model):
    """How many unused period credits carry into the next period: none, all, or at most `limit`."""

    mode: Literal["none", "all", "max"]
    limit: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _limit_only_with_max(self) -> Rollover:
        if (self.mode == "max") != (self.limit is not None):
            raise PydanticCustomError(
                "rollover_limit", 'a limit goes with mode "max" and only with it'
            )
        return self

    @classmethod
    def parse(cls, text: str) -> Rollover:
        """Parse the catalog notation: "none", "all" or "max:N"."""
        if text in ("none", "all"):
            return cls.model_validate({"mode": text})
        match = _ROLLOVER_MAX.match(text)
        if match is None:
            raise PydanticCustomError(
                "rollover_format",
                'expected "none", "all" or "max:N", got {got}',
                {"got": json.dumps(text)},
            )
        return cls(mode="max", limit=int(match.group(1)))

    def carry(self, unused: int) -> int:
        """How many of `unused` credits carry over into the next period."""
        unused = max(unused, 0)
        if self.mode == "all":
            return unused
        if self.mode == "max":
            assert self.limit is not None
            return min(unused, self.limit)
        return 0

    def __str__(self) -> str:
        return f"max:{self.limit}" if self.mode == "max" else self.mode


class BillingPolicy(_Model):
    """Rules that apply to every plan."""

    grace_days: int = Field(default=3, ge=0)
    upgrade_credits: Literal["prorate", "full", "none"] = "prorate"


class AutoTopupDefaults(_Model):
    """A plan's defaults for its accounts' auto top-up settings: what a PUT leaves out."""

    threshold: int | None = Field(default=None, ge=1)
    pack: CatalogKey | None = None
    quantity: int | None = Field(default=None, ge=1, le=100)
    target_balance: int | None = Field(default=None, ge=1)
    monthly_cap_packs: int | None = Field(default=None, ge=1)
    monthly_cap_amount: int | None = Field(default=None, ge=1)


class Plan(_Model):
    """A subscription plan: the credits one billing period is worth."""

    key: str
    name: str
    stripe_prices: list[PriceId] = Field(min_length=1)
    monthly_credits: int = Field(ge=0)
    trial_credits: int = Field(default=0, ge=0)
    rollover: Rollover = Rollover(mode="none")
    # The default low-balance alert of the plan's accounts (None: LOW_BALANCE_THRESHOLD).
    low_balance_threshold: int | None = Field(default=None, ge=1)
    # "seat": the month's credits are monthly_credits x the subscription item's quantity.
    credits_per: Literal["subscription", "seat"] = "subscription"
    # A price billed for more than a month (yearly): "monthly" grants each month on its day,
    # "per_period" grants every month of the period at once.
    allocation: Literal["monthly", "per_period"] = "monthly"
    # Defaults of the plan's accounts' auto top-up settings (docs/topups.md).
    auto_topup: AutoTopupDefaults | None = None

    def credits_for(self, quantity: int, months: int = 1) -> int:
        """Credits of `months` months for a plan line of `quantity` (seats)."""
        seats = max(quantity, 0) if self.credits_per == "seat" else 1
        return self.monthly_credits * seats * months

    @field_validator("rollover", mode="before")
    @classmethod
    def _parse_rollover(cls, value: Any) -> Any:
        if isinstance(value, Rollover):
            return value
        if isinstance(value, str):
            return Rollover.parse(value)
        raise PydanticCustomError(
            "rollover_format",
            'expected "none", "all" or "max:N", got {got}',
            {"got": _show(value)},
        )

    @field_serializer("rollover")
    def _rollover_as_text(self, rollover: Rollover) -> str:
        return str(rollover)


class Pack(_Model):
    """A one-off credit pack bought through Checkout."""

    key: str
    name: str
    stripe_prices: list[PriceId] = Field(min_length=1)
    credits: int = Field(gt=0)
    expires_after_days: int | None = Field(default=None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _name_defaults_to_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "name" not in data and "key" in data:
            return {**data, "name": data["key"]}
        return data


class Catalog(_Model):
    """Plans and packs by key, and by Stripe price (indexed once, at load time)."""

    billing: BillingPolicy = BillingPolicy()
    plans: dict[CatalogKey, Plan] = Field(default_factory=dict)
    packs: dict[CatalogKey, Pack] = Field(default_factory=dict)
    # The rate card: usage debited by meter and quantity is priced here (app/billing/rates.py).
    meters: dict[MeterKey, Meter] = Field(default_factory=dict)

    _plan_by_price: dict[str, Plan] = PrivateAttr(default_factory=dict)
    _pack_by_price: dict[str, Pack] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _key_from_table_name(cls, data: Any) -> Any:
        # [plans.starter] carries its key in the table name, not in a field.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for section in ("plans", "packs", "meters"):
            tables = data.get(section)
            if isinstance(tables, dict):
                data[section] = {
                    key: {"key": key, **entry} if isinstance(entry, dict) else entry
                    for key, entry in tables.items()
                }
        return data

    @model_validator(mode="after")
    def _index_prices(self) -> Catalog:
        problems: list[str] = []
        owner: dict[str, str] = {}
        entries: list[tuple[str, Plan | Pack]] = [
            *((f"plans.{key}", plan) for key, plan in self.plans.items()),
            *((f"packs.{key}", pack) for key, pack in self.packs.items()),
        ]
        for where, entry in entries:
            table_key = where.split(".", 1)[1]
            if entry.key != table_key:
                problems.append(f"{where}.key: must match the table name (or be left out)")
            for index, price in enumerate(entry.stripe_prices):
                location = f"{where}.stripe_prices[{index}]"
                if price in owner:
                    problems.append(
                        f'{location}: price "{price}" is already used by {owner[price]}'
                    )
                    continue
                owner[price] = location
                if isinstance(entry, Plan):
                    self._plan_by_price[price] = entry
                else:
                    self._pack_by_price[price] = entry
        for key, plan in self.plans.items():
            wanted = plan.auto_topup.pack if plan.auto_topup else None
            if wanted is not None and wanted not in self.packs:
                problems.append(f'plans.{key}.auto_topup.pack: "{wanted}" is not a pack')
        for key, meter in self.meters.items():
            if meter.key != key:
                problems.append(f"meters.{key}.key: must match the table name (or be left out)")
            for unknown in sorted(meter.plans_named() - set(self.plans)):
                problems.append(f"meters.{key}: names plan {unknown!r}, which is not in [plans]")
        if problems:
            raise PydanticCustomError("catalog_conflict", "\n".join(problems))
        return self

    def plan_for_price(self, price_id: str) -> Plan | None:
        return self._plan_by_price.get(price_id)

    def pack_for_price(self, price_id: str) -> Pack | None:
        return self._pack_by_price.get(price_id)

    def plan(self, key: str) -> Plan | None:
        return self.plans.get(key)

    def pack(self, key: str) -> Pack | None:
        return self.packs.get(key)

    def meter(self, key: str) -> Meter | None:
        return self.meters.get(key)


def load_catalog(path: str | os.PathLike[str]) -> Catalog:
    """Read and validate the catalog; every problem raises `CatalogError` naming file and field."""
    shown = os.fspath(path)
    try:
        with Path(path).open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise CatalogError(shown, ["file not found"]) from None
    except OSError as exc:
        raise CatalogError(shown, [f"cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise CatalogError(shown, ["not valid UTF-8"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(shown, [f"TOML syntax error: {exc}"]) from None
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        # One problem per line, so each line names the file (conflicts come several to an error)
        # and, where it can be found, the line of the file that is wrong.
        lines = _key_lines(Path(path).read_text(encoding="utf-8"))
        problems = [
            _at_line(lines, error["loc"], line)
            for error in exc.errors(include_url=False)
            for line in _describe(error).splitlines()
        ]
        raise CatalogError(shown, problems) from None


_BARE_OR_QUOTED = re.compile(r"\s*(?:\"((?:[^\"\\]|\\.)*)\"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)")


def _dotted(text: str) -> tuple[str, ...] | None:
    """`meters."image.1024px".versions` as its parts; None when it is not a plain key path."""
    parts: list[str] = []
    position = 0
    while position < len(text):
        match = _BARE_OR_QUOTED.match(text, position)
        if match is None:
            return None
        parts.append(next(group for group in match.groups()[:3] if group is not None))
        position = match.end()
    return tuple(parts) if parts else None


def _key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Where each table and key of a TOML file starts: (path parts) -> line number, with the
    index of an array of tables in its path, as pydantic's error locations have it."""
    found: dict[tuple[Any, ...], int] = {}
    arrays: dict[tuple[Any, ...], int] = {}
    table: tuple[Any, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[["):
            name = _dotted(line[2:].split("]]", 1)[0])
            if name is not None:
                index = arrays.get(name, -1) + 1
                arrays[name] = index
                table = (*_resolved(name, arrays), index)
                found.setdefault(table, number)
        elif line.startswith("["):
            name = _dotted(line[1:].split("]", 1)[0])
            if name is not None:
                table = _resolved(name, arrays)
                found.setdefault(table, number)
        elif "=" in line and not line.startswith("#"):
            key = _dotted(line.split("=", 1)[0])
            if key is not None:
                found.setdefault((*table, *key), number)
    return found


def _resolved(name: tuple[str, ...], arrays: dict[tuple[Any, ...], int]) -> tuple[Any, ...]:
    """A table's path with the current index after each array of tables it lies in."""
    path: tuple[Any, ...] = ()
    for depth in range(1, len(name) + 1):
        path = (*path, name[depth - 1])
        if name[:depth] in arrays and depth < len(name):
            path = (*path, arrays[name[:depth]])
    return path


def _at_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...], problem: str) -> str:
    """`problem (line N)`, N being the line of the longest part of `loc` the file has."""
    parts = tuple(part for part in loc if part != "[key]")
    for end in range(len(parts), 0, -1):
        if parts[:end] in lines:
            return f"{problem} (line {lines[parts[:end]]})"
    return problem


def _describe(error: Any) -> str:
    """One pydantic error as `location: message`, in the catalog's own dotted notation."""
    parts = list(error["loc"])
    kind = error["type"]
    message = error["msg"]
    if parts and parts[-1] == "[key]":
        # A bad table name: pydantic reports it as (..., name, "[key]").
        location = _format_location(parts[:-2])
        return f"{location}: table name {_show(parts[-2])}: {_KEY_RULE}"
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "too_short":
        message = "must not be empty"
    elif kind.startswith("rollover_") or kind == "catalog_conflict":
        pass  # our own messages already say what they got
    elif _is_scalar(error.get("input")):
        message = f"{message}, got {_show(error['input'])}"
    location = _format_location(parts)
    return f"{location}: {message}" if location else message


def _format_location(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _show(value: Any) -> str:
    if _is_scalar(value):
        return json.dumps(value)
    return type(value).__name__
