"""Which account a Stripe event concerns, read from its payload alone: what the log shows for
an event that failed or was parked before any handler could resolve its account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from app.ledger.schemas import is_account_id
from app.stripe_events.repository import CustomerRepository


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _metadatas(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The metadata maps where the product names the account (the resolver's places): the
    object's own, and an invoice's subscription details (current and old layout)."""
    yield _dict(obj.get("metadata"))
    yield _dict(_dict(_dict(obj.get("parent")).get("subscription_details")).get("metadata"))
    yield _dict(_dict(obj.get("subscription_details")).get("metadata"))


def named_customer(obj: dict[str, Any]) -> str | None:
    found = obj.get("id") if obj.get("object") == "customer" else obj.get("customer")
    found = _dict(found).get("id") if isinstance(found, dict) else found  # expanded
    return (
        found if isinstance(found, str) and found.startswith("cus_") and len(found) <= 255 else None
    )


def named_account(obj: dict[str, Any]) -> str | None:
    """client_reference_id first, then metadata.account_id, as the resolver reads them."""
    candidates = [obj.get("client_reference_id")]
    candidates += [meta.get("account_id") for meta in _metadatas(obj)]
    return next((c for c in candidates if is_account_id(c)), None)


async def concerned(
    payload: object, customers: CustomerRepository, customer_id: str | None
) -> tuple[str | None, str | None]:
    """(customer, account) of a stored payload: the account it names, else the one its
    customer is linked to. Unreadable: what was known (`customer_id`) and no account."""
    try:
        event = json.loads(payload) if isinstance(payload, str) else None
    except (ValueError, RecursionError):
        event = None
    obj = _dict(_dict(_dict(event).get("data")).get("object"))
    customer_id = customer_id or named_customer(obj)
    account_id = named_account(obj)
    if account_id is None and customer_id is not None:
        account_id = await customers.account_for(None, customer_id)
    return customer_id, account_id
