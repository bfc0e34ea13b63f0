"""Usage named by meter and quantity, priced by the rate card for the account's plan at the
time the usage occurred, with the account's remainder of that meter carried exactly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.billing.catalog import Catalog
from app.billing.pricing import Remainder, charge
from app.billing.rates import Meter, UnitPrice, storage_key
from app.kit.clock import as_utc
from app.kit.errors import ValidationFailed
from app.ledger import schemas
from app.ledger.repository import Doc
from app.ledger.schemas import MAX_CREDITS

# How far from the service's clock a usage's `occurred_at` may be. Late records are normal (a
# worker's queue drains after an outage) and are priced at the rate of their own time, within
# a month; an hour ahead allows for clocks that run fast, never for prices not yet in effect.
USAGE_MAX_AGE = timedelta(days=31)
USAGE_MAX_AHEAD = timedelta(minutes=5)
REMAINDERS = "meter_remainders"  # on the account: {meter (dots as "~"): {n, d}}


@dataclass
class Carried:
    """The remainders of one account, as a unit of work reads and advances them in memory:
    what it read (the write's guard) and what it leaves."""

    read: dict[str, Doc] = field(default_factory=dict)
    now: dict[str, Remainder] = field(default_factory=dict)

    @classmethod
    def of(cls, account: Mapping[str, Any]) -> Carried:
        stored = dict(account.get(REMAINDERS) or {})
        return cls(read=stored, now={k: Remainder.stored(v) for k, v in stored.items()})

    def get(self, meter: str) -> Remainder:
        return self.now.get(storage_key(meter), Remainder())

    def put(self, meter: str, remainder: Remainder) -> None:
        self.now[storage_key(meter)] = remainder

    def changes(self) -> tuple[Doc, Doc]:
        """($set of the remainders that moved, guard: each of them as it was read)."""
        moved = {k: r for k, r in self.now.items() if Remainder.stored(self.read.get(k)) != r}
        updates = {f"{REMAINDERS}.{k}": r.as_doc() for k, r in moved.items()}
        guard: Doc = {}
        for key in moved:
            path = f"{REMAINDERS}.{key}"
            guard[path] = self.read.get(key, {"$exists": False})
        return updates, guard


@dataclass(frozen=True)
class Priced:
    amount: int
    usage: Doc  # what the entry (or hold) records: the schema's MeteredUsage
    remainder: Remainder


def invalid(field_name: str, msg: str, where: str = "body") -> ValidationFailed:
    return ValidationFailed(
        f"{field_name}: {msg}",
        errors=[{"loc": [where, field_name], "msg": msg, "type": "value_error"}],
    )


class RateCard:
    """The catalog's meters, and how a usage is priced."""

    def __init__(self, catalog: Catalog | None) -> None:
        self.meters: dict[str, Meter] = dict(catalog.meters) if catalog else {}

    def meter(self, key: str, where: str = "body") -> Meter:
        found = self.meters.get(key)
        if found is None:
            known = ", ".join(sorted(self.meters)) or "none"
            raise invalid("meter", f"unknown meter {key!r} (the rate card has: {known})", where)
        return found

    def usage_time(
        self, occurred_at: datetime | None, now: datetime, where: str = "body"
    ) -> datetime:
        """`occurred_at` (default: now), refused outside the window the service accepts."""
        when = now if occurred_at is None else as_utc(occurred_at)
        if when < now - USAGE_MAX_AGE:
            raise invalid(
                "occurred_at", f"more than {USAGE_MAX_AGE.days} days ago: too late to price", where
            )
        if when > now + USAGE_MAX_AHEAD:
            minutes = int(USAGE_MAX_AHEAD.total_seconds() // 60)
            raise invalid("occurred_at", f"more than {minutes} minutes in the future", where)
        return when

    def price(
        self,
        account: Mapping[str, Any],
        carried: Carried,
        meter_key: str,
        quantity: int,
        occurred_at: datetime | None,
        now: datetime,
        where: str = "body",
    ) -> Priced:
        """What `quantity` of `meter_key` costs this account after what it carries. Raises
        ValidationFailed (422) for an unknown meter, a time out of bounds, a time before the
        meter's first price, or a price over the most one request may move."""
        meter = self.meter(meter_key, where)
        when = self.usage_time(occurred_at, now, where)
        found = meter.version_at(when)
        if found is None:
            first = meter.versions[0].effective_from.isoformat()
            raise invalid("occurred_at", f"before the meter's first price ({first})", where)
        number, version = found
        plan = account.get("plan")
        unit = version.price_for(plan)
        amount, left = charge(carried.get(meter_key), quantity, unit, meter.rounding)
        if amount > MAX_CREDITS:
            raise invalid("quantity", f"costs {amount} credits, over {MAX_CREDITS}", where)
        usage: dict[str, Any] = {
            "meter": meter_key,
            "quantity": quantity,
            "occurred_at": when,
            "plan": plan,
            "rate_version": number,
            "effective_from": version.effective_from,
            "unit_price": {"credits": unit.credits, "per": unit.per},
        }
        return Priced(amount, usage, left)

    def card(self, now: datetime) -> schemas.RateCardView:
        """Every meter's version in effect now and those scheduled after it."""
        data = []
        for key, meter in sorted(self.meters.items()):
            current = meter.version_at(now)
            first = current[0] if current else 1
            versions = [
                schemas.RateVersionView(
                    version=number,
                    effective_from=version.effective_from,
                    credits=version.credits,
                    per=version.per,
                    plans={plan: _unit_price(p) for plan, p in version.plans.items()},
                    status="current" if current and number == current[0] else "scheduled",
                )
                for number, version in enumerate(meter.versions, start=1)
                if number >= first
            ]
            data.append(schemas.MeterRates(**_about(key, meter), versions=versions))
        return schemas.RateCardView(at=now, data=data)

    def for_account(self, account: Mapping[str, Any], now: datetime) -> schemas.AccountRates:
        """What the account pays now per unit of each meter priced by now, and the next
        scheduled price for its plan."""
        plan = account.get("plan")
        data = []
        for key, meter in sorted(self.meters.items()):
            current = meter.version_at(now)
            if current is None:
                continue  # not priced yet: listed by GET /v1/rates as scheduled
            number, version = current
            scheduled = None
            if number < len(meter.versions):
                after = meter.versions[number]
                scheduled = schemas.ScheduledRate(
                    rate_version=number + 1,
                    effective_from=after.effective_from,
                    unit_price=_unit_price(after.price_for(plan)),
                )
            data.append(
                schemas.AccountRate(
                    **_about(key, meter),
                    rate_version=number,
                    effective_from=version.effective_from,
                    unit_price=_unit_price(version.price_for(plan)),
                    scheduled=scheduled,
                )
            )
        return schemas.AccountRates(account_id=account["_id"], plan=plan, at=now, data=data)


def _about(key: str, meter: Meter) -> dict[str, Any]:
    """What every rate listing says of a meter."""
    return {"meter": key, "name": meter.name or key, "unit": meter.unit, "rounding": meter.rounding}


def _unit_price(price: UnitPrice) -> schemas.UnitPrice:
    return schemas.UnitPrice(credits=price.credits, per=price.per)
