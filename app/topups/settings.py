"""An account's auto top-up settings: the request filled from its plan's defaults, checked as a
whole (what to buy, when, and within which cap), and how much a purchase buys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.billing.catalog import AutoTopupDefaults, Catalog, Pack
from app.kit.errors import ValidationFailed
from app.topups.schemas import MAX_QUANTITY, AutoTopupUpdate

Doc = dict[str, Any]
# The fields of a PUT that are settings (payment_method has no plan default).
FIELDS = (
    "threshold",
    "pack",
    "quantity",
    "target_balance",
    "monthly_cap_packs",
    "monthly_cap_amount",
    "payment_method",
)
# Either of a group may be given; the request's group wins over the plan's as a whole.
WHAT_TO_BUY = ("quantity", "target_balance")
CAPS = ("monthly_cap_packs", "monthly_cap_amount")


def plan_defaults(plan_key: str | None, catalog: Catalog) -> AutoTopupDefaults | None:
    plan = catalog.plan(plan_key) if plan_key else None
    return plan.auto_topup if plan is not None else None


def resolve(req: AutoTopupUpdate, defaults: AutoTopupDefaults | None, catalog: Catalog) -> Doc:
    """The settings to store: the request's fields, the plan's where it gives none; raises
    ValidationFailed (422) naming every field that is wrong."""
    given = {name: getattr(req, name) for name in FIELDS}
    plan = defaults.model_dump() if defaults is not None else {}
    settings = {name: given[name] if given[name] is not None else plan.get(name) for name in FIELDS}
    for group in (WHAT_TO_BUY, CAPS):
        if any(given[name] is not None for name in group):
            settings.update({name: given[name] for name in group})
    problems = _problems(settings, catalog, enabled=req.enabled)
    if problems:
        raise ValidationFailed(
            f"{problems[0][0]}: {problems[0][1]}",
            errors=[{"loc": ["body", f], "msg": m, "type": "value_error"} for f, m in problems],
        )
    if settings["quantity"] is None and settings["target_balance"] is None:
        settings["quantity"] = 1
    return {"enabled": req.enabled, **settings}


def _problems(settings: Doc, catalog: Catalog, *, enabled: bool) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    pack = settings["pack"]
    if pack is not None and catalog.pack(pack) is None:
        problems.append(("pack", f"{pack!r} is not a pack of the catalog"))
    if all(settings[name] is not None for name in WHAT_TO_BUY):
        problems.append(("target_balance", "give quantity or target_balance, not both"))
    if all(settings[name] is not None for name in CAPS):
        problems.append(("monthly_cap_amount", "give monthly_cap_packs or the amount, not both"))
    threshold, target = settings["threshold"], settings["target_balance"]
    if threshold is not None and target is not None and target <= threshold:
        problems.append(("target_balance", "must be above the threshold"))
    if enabled:
        # Turning it on needs all of it: when, what, and a cap (a card is charged unattended).
        required = {"threshold": "a threshold", "pack": "a pack"}
        problems += [
            (name, f"{what} is required to enable auto top-up (none here or in the plan)")
            for name, what in required.items()
            if settings[name] is None
        ]
        if all(settings[name] is None for name in CAPS):
            problems.append(
                ("monthly_cap_packs", "a monthly cap (packs or amount) is required to enable it")
            )
    return problems


def packs_to_buy(settings: Doc, pack: Pack, available: int) -> int:
    """Whole packs of one purchase: the fixed quantity, or enough to reach the target."""
    target = settings.get("target_balance")
    if target is None:
        return int(settings.get("quantity") or 1)
    short = max(target - available, 1)
    return max(1, min(-(-short // pack.credits), MAX_QUANTITY))


def month_of(moment: datetime) -> str:
    """The calendar month (UTC) a cap counts in: "YYYY-MM"."""
    return f"{moment.year:04d}-{moment.month:02d}"


def crosses(before: int, after: int, settings: Doc | None, now: datetime) -> bool:
    """Whether a move of `available` from `before` to `after` asks for a top-up: enabled, from
    at or above the threshold to below it, and this month's cap not reached."""
    if not settings or not settings.get("enabled"):
        return False
    threshold = settings.get("threshold")
    if threshold is None or not before >= threshold > after:
        return False
    return settings.get("cap_reached_month") != month_of(now)
