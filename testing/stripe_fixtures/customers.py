"""Customers (the `customer` fixture): `customer.*` events; metadata may name the account."""

from __future__ import annotations

from stripe_fixtures.common import DEFAULT_CUSTOMER, Obj, full_type
from stripe_fixtures.factory import Factory


class Customers(Factory):
    def customer_event(
        self,
        type: str = "customer.created",
        *,
        customer: str = DEFAULT_CUSTOMER,
        metadata: dict[str, str] | None = None,
        email: str | None = "buyer@example.com",
        previous_attributes: Obj | None = None,
        created: int | None = None,
        event_id: str | None = None,
    ) -> Obj:
        """`customer.*`; `type` may be short. `metadata` may carry `account_id`."""
        created = self.now if created is None else created
        obj: Obj = {
            "id": customer,
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": created,
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": None,
            "email": email,
            "invoice_prefix": "TEST",
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": dict(metadata or {}),
            "name": None,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
        return self.event(
            full_type("customer", type),
            obj,
            previous_attributes=previous_attributes,
            created=created,
            event_id=event_id,
        )
