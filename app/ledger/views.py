"""Stored documents to API objects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.ledger import schemas
from app.ledger.access import available, suspended_reason


def account_view(doc: Mapping[str, Any], now: datetime) -> schemas.Account:
    return schemas.Account(
        id=doc["_id"],
        balance=doc["balance"],
        reserved=doc["reserved"],
        available=available(doc),
        deficit=doc["deficit"],
        subscription_status=doc.get("subscription_status", "none"),
        plan=doc.get("plan"),
        current_period_end=doc.get("current_period_end"),
        grace_until=doc.get("grace_until"),
        cancel_at=doc.get("cancel_at"),
        suspended_reason=suspended_reason(doc, now),
        stripe_customer_id=doc.get("stripe_customer_id"),
        stripe_subscription_id=doc.get("stripe_subscription_id"),
        name=doc.get("name"),
        email=doc.get("email"),
        metadata=doc.get("metadata") or {},
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


def grant_view(doc: Mapping[str, Any]) -> schemas.Grant:
    # `remaining` is what the grant has not spent, including what holds set aside (`held`).
    return schemas.Grant(
        id=doc["_id"],
        kind=doc["kind"],
        amount=doc["amount"],
        remaining=doc["remaining"] + doc["held"],
        held=doc["held"],
        expires_at=doc.get("expires_at"),
        source=doc["source"],
        description=doc.get("description"),
        status=grant_status(doc),
        created_at=doc["created_at"],
    )


def grant_status(doc: Mapping[str, Any]) -> schemas.GrantStatus:
    if not doc.get("expired"):
        return "live"
    return "voided" if doc.get("voided_at") else "expired"


def entry_view(doc: Mapping[str, Any]) -> schemas.LedgerEntry:
    return schemas.LedgerEntry(
        id=doc["_id"],
        seq=doc["seq"],
        type=doc["type"],
        amount=doc["amount"],
        balance_after=doc["balance_after"],
        grants=doc.get("grants", []),
        source=doc["source"],
        description=doc.get("description"),
        metadata=doc.get("metadata") or {},
        idempotency_key=doc.get("idempotency_key"),
        actor=doc.get("actor"),
        usage=doc.get("usage"),
        created_at=doc["created_at"],
    )


def reservation_view(doc: Mapping[str, Any]) -> schemas.Reservation:
    return schemas.Reservation(
        id=doc["_id"],
        account_id=doc["account_id"],
        amount=doc["amount"],
        captured=doc["captured"],
        status=doc["status"],
        expires_at=doc["expires_at"],
        description=doc.get("description"),
        metadata=doc.get("metadata") or {},
        usage=doc.get("usage"),
        created_at=doc["created_at"],
    )
