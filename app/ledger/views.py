"""Stored documents to API objects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from app.kit.views import view_of
from app.ledger import schemas
from app.ledger.access import available, suspended_reason


def account_view(doc: Mapping[str, Any], now: datetime) -> schemas.Account:
    return view_of(
        schemas.Account,
        doc,
        available=available(doc),
        subscription_status=doc.get("subscription_status", "none"),
        suspended_reason=suspended_reason(doc, now),
        metadata=doc.get("metadata") or {},
    )


def account_json(doc: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """`account_view(doc, now).model_dump(mode="json")`, built directly: group commit answers
    each debit of a unit with its account, and the model costs several times the dict
    (tests/ledger/test_views.py keeps the two equal)."""
    return {
        "id": doc["_id"],
        "balance": doc["balance"],
        "reserved": doc["reserved"],
        "available": available(doc),
        "deficit": doc["deficit"],
        "subscription_status": doc.get("subscription_status", "none"),
        "plan": doc.get("plan"),
        "current_period_end": _iso_or_none(doc.get("current_period_end")),
        "grace_until": _iso_or_none(doc.get("grace_until")),
        "cancel_at": _iso_or_none(doc.get("cancel_at")),
        "suspended_reason": suspended_reason(doc, now),
        "stripe_customer_id": doc.get("stripe_customer_id"),
        "stripe_subscription_id": doc.get("stripe_subscription_id"),
        "name": doc.get("name"),
        "email": doc.get("email"),
        "metadata": dict(doc.get("metadata") or {}),
        "created_at": _iso(doc["created_at"]),
        "updated_at": _iso(doc["updated_at"]),
    }


def grant_view(doc: Mapping[str, Any]) -> schemas.Grant:
    # `remaining` is what the grant has not spent, including what holds set aside (`held`).
    remaining = doc["remaining"] + doc["held"]
    return view_of(schemas.Grant, doc, remaining=remaining, status=grant_status(doc))


def grant_status(doc: Mapping[str, Any]) -> schemas.GrantStatus:
    if not doc.get("expired"):
        return "live"
    return "voided" if doc.get("voided_at") else "expired"


def entry_view(doc: Mapping[str, Any]) -> schemas.LedgerEntry:
    grants = doc.get("grants", [])
    return view_of(schemas.LedgerEntry, doc, grants=grants, metadata=doc.get("metadata") or {})


def entry_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    """`entry_view(doc).model_dump(mode="json")`, built directly: a usage batch answers 1,000
    entries, and the model costs several times the dict (tests/ledger/test_views.py keeps the
    two equal)."""
    usage = doc.get("usage")
    return {
        "id": doc["_id"],
        "seq": doc["seq"],
        "type": doc["type"],
        "amount": doc["amount"],
        "balance_after": doc["balance_after"],
        "grants": [
            {"grant_id": g["grant_id"], "kind": g.get("kind"), "amount": g["amount"]}
            for g in doc.get("grants", [])
        ],
        "source": doc["source"],
        "description": doc.get("description"),
        "metadata": dict(doc.get("metadata") or {}),
        "idempotency_key": doc.get("idempotency_key"),
        "actor": doc.get("actor"),
        "usage": None if usage is None else _usage_json(usage),
        "created_at": _iso(doc["created_at"]),
    }


def _usage_json(usage: Mapping[str, Any]) -> dict[str, Any]:
    price = usage["unit_price"]
    return {
        "meter": usage["meter"],
        "quantity": usage["quantity"],
        "occurred_at": _iso(usage["occurred_at"]),
        "plan": usage.get("plan"),
        "rate_version": usage["rate_version"],
        "effective_from": _iso(usage["effective_from"]),
        "unit_price": {"credits": price["credits"], "per": price["per"]},
    }


def _iso(when: datetime) -> str:
    """A time as pydantic writes it in JSON: ISO 8601, UTC as `Z`."""
    return _iso_at(when, when.utcoffset())


@lru_cache(maxsize=256)
def _iso_at(when: datetime, offset: timedelta | None) -> str:
    # Remembered for the times met last (a batch's entries share theirs), by value and offset:
    # equal times of other offsets are written apart.
    text = when.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _iso_or_none(when: datetime | None) -> str | None:
    return None if when is None else _iso(when)


def reservation_view(doc: Mapping[str, Any]) -> schemas.Reservation:
    return view_of(schemas.Reservation, doc, metadata=doc.get("metadata") or {})
