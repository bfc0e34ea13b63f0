"""Stored documents to API objects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
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


def reservation_view(doc: Mapping[str, Any]) -> schemas.Reservation:
    return view_of(schemas.Reservation, doc, metadata=doc.get("metadata") or {})
