"""Realistic Stripe webhook events for tests, endive or pre-basil shape, signed as Stripe signs.

    events = StripeEvents(shape="endive", now=1_790_000_000)
    event = events.invoice_event("invoice.paid", customer="cus_1", subscription="sub_1")
    body, headers = signed_request(event, secret="whsec_test")
    await client.post("/webhooks/stripe", content=body, headers=headers)

Where a field lives differs by API version (docs: billing-rules.md, "Where things are in Stripe
payloads"): `shape="endive"` renders 2026-10-28.endive (the basil layout), `shape="legacy"`
renders 2024-06-20. Builders take keyword arguments only; ids default to fresh unique ones
(`evt_`, `in_`, `cs_`...) except customer, subscription and account, which default to one
shared value so a sequence of events links up without ceremony.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any, Literal

import stripe

__all__ = [
    "DAY",
    "DEFAULT_ACCOUNT",
    "DEFAULT_CUSTOMER",
    "DEFAULT_PRICE",
    "DEFAULT_SUBSCRIPTION",
    "ENDIVE_API_VERSION",
    "LEGACY_API_VERSION",
    "MONTH",
    "Shape",
    "StripeEvents",
    "sign",
    "signed_headers",
    "signed_request",
    "to_body",
]

Event = dict[str, Any]
Shape = Literal["endive", "legacy"]

ENDIVE_API_VERSION = "2026-10-28.endive"
LEGACY_API_VERSION = "2024-06-20"
DAY = 86_400
MONTH = 30 * DAY

DEFAULT_CUSTOMER = "cus_test"
DEFAULT_SUBSCRIPTION = "sub_test"
DEFAULT_ACCOUNT = "user_42"
DEFAULT_PRICE = "price_starter_monthly"
DEFAULT_AMOUNT = 1900  # cents

_PAID_INVOICE_TYPES = {"invoice.paid", "invoice.payment_succeeded"}


# ---------------------------------------------------------------- signing


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header for `payload`: `t=<ts>,v1=<hmac-sha256 of "<ts>.<payload>">`.

    `timestamp` defaults to the real time (not a factory's clock): `construct_event` rejects
    signatures older than its tolerance (300 s) measured against the real clock.
    """
    return stripe.WebhookSignature.generate_signature_header(
        payload.decode("utf-8"), secret, timestamp
    )


def to_body(event: Event) -> bytes:
    """The request body Stripe would send: compact JSON."""
    return json.dumps(event, separators=(",", ":")).encode("utf-8")


def signed_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    return {"Stripe-Signature": sign(body, secret, timestamp), "Content-Type": "application/json"}


def signed_request(
    event: Event, secret: str, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """Body and headers, ready for `client.post(url, content=body, headers=headers)`."""
    body = to_body(event)
    return body, signed_headers(body, secret, timestamp)


# ---------------------------------------------------------------- the factory


class StripeEvents:
    """Builds webhook events at one API shape, with a settable clock (`now`, unix seconds)."""

    # Shared by every factory, so two factories in one test never mint the same event id.
    _counter = itertools.count(1)

    def __init__(self, shape: Shape = "endive", now: int | None = None) -> None:
        if shape not in ("endive", "legacy"):
            raise ValueError(f'shape must be "endive" or "legacy", not {shape!r}')
        self.shape: Shape = shape
        self.api_version = ENDIVE_API_VERSION if shape == "endive" else LEGACY_API_VERSION
        self.now: int = int(time.time()) if now is None else now

    @property
    def legacy(self) -> bool:
        return self.shape == "legacy"

    def advance(self, seconds: int) -> int:
        """Move the clock forward; returns the new `now`."""
        self.now += seconds
        return self.now

    def new_id(self, prefix: str) -> str:
        """A fresh Stripe-looking id, e.g. `new_id("in")` -> `in_test0000000042`."""
        return f"{prefix}_test{next(self._counter):010d}"

    # ------------------------------------------------------------ envelope

    def event(
        self,
        type: str,
        obj: dict[str, Any],
        *,
        previous_attributes: dict[str, Any] | None = None,
        created: int | None = None,
        event_id: str | None = None,
    ) -> Event:
        """Any event: `obj` becomes `data.object` as given."""
        data: dict[str, Any] = {"object": obj}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        return {
            "id": event_id or self.new_id("evt"),
            "object": "event",
            "api_version": self.api_version,
            "created": self.now if created is None else created,
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }

    # ------------------------------------------------------------ checkout

    def checkout_session_completed(
        self,
        *,
        session_id: str | None = None,
        customer: str | None = DEFAULT_CUSTOMER,
        account_id: str | None = DEFAULT_ACCOUNT,
        mode: Literal["subscription", "payment"] = "subscription",
        subscription: str | None = None,
        payment_status: Literal["paid", "unpaid", "no_payment_required"] = "paid",
        metadata: dict[str, str] | None = None,
        payment_intent: str | None = None,
        invoice: str | None = None,
        amount_total: int = DEFAULT_AMOUNT,
        type: str = "checkout.session.completed",
        created: int | None = None,
        event_id: str | None = None,
    ) -> Event:
        """A completed Checkout Session; `account_id` is its `client_reference_id`.

        mode "subscription": `subscription` defaults to DEFAULT_SUBSCRIPTION, no payment intent.
        mode "payment" (a credit pack, named by `metadata={"pack": ...}`): `payment_intent`
        defaults to a fresh id. `type` may also be "checkout.session.async_payment_succeeded"
        (or "...async_payment_failed"); short forms such as "async_payment_succeeded" work.
        Stripe does not put `line_items` in the webhook, so there is no quantity here.
        """
        created = self.now if created is None else created
        subscription_mode = mode == "subscription"
        if subscription_mode:
            subscription = subscription or DEFAULT_SUBSCRIPTION
            invoice = invoice or self.new_id("in")
        else:
            payment_intent = payment_intent or self.new_id("pi")
        session: dict[str, Any] = {
            "id": session_id or self.new_id("cs"),
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": amount_total,
            "amount_total": amount_total,
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": "https://example.com/cancel",
            "client_reference_id": account_id,
            "client_secret": None,
            "consent": None,
            "consent_collection": None,
            "created": created - 120,
            "currency": "usd",
            "currency_conversion": None,
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": customer,
            "customer_creation": None if subscription_mode else "if_required",
            "customer_details": {
                "address": None,
                "email": "buyer@example.com",
                "name": None,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
            "customer_email": None,
            "discounts": [],
            "expires_at": created - 120 + DAY,
            "invoice": invoice,
            "invoice_creation": None
            if subscription_mode
            else {"enabled": False, "invoice_data": _empty_invoice_data()},
            "livemode": False,
            "locale": None,
            "metadata": dict(metadata or {}),
            "mode": mode,
            "payment_intent": payment_intent,
            "payment_link": None,
            "payment_method_collection": "always" if subscription_mode else "if_required",
            "payment_method_configuration_details": None,
            "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
            "payment_method_types": ["card"],
            "payment_status": payment_status,
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "saved_payment_method_options": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": "complete",
            "submit_type": None,
            "subscription": subscription if subscription_mode else None,
            "success_url": "https://example.com/success",
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": None,
        }
        if self.legacy:
            session["shipping_details"] = None
        else:
            session["adaptive_pricing"] = {"enabled": False}
            session["collected_information"] = None
        return self.event(
            _full_type("checkout.session", type), session, created=created, event_id=event_id
        )

    # ------------------------------------------------------------ subscriptions

    def subscription_event(
        self,
        type: str = "customer.subscription.updated",
        *,
        subscription_id: str = DEFAULT_SUBSCRIPTION,
        customer: str = DEFAULT_CUSTOMER,
        price: str = DEFAULT_PRICE,
        status: str | None = None,
        period_start: int | None = None,
        period_end: int | None = None,
        trial_start: int | None = None,
        trial_end: int | None = None,
        cancel_at_period_end: bool = False,
        cancel_at: int | None = None,
        canceled_at: int | None = None,
        metadata: dict[str, str] | None = None,
        previous_attributes: dict[str, Any] | None = None,
        quantity: int = 1,
        unit_amount: int = DEFAULT_AMOUNT,
        latest_invoice: str | None = None,
        created: int | None = None,
        event_id: str | None = None,
    ) -> Event:
        """A `customer.subscription.*` event; `type` may be short: "created", "updated"...

        `status` defaults to "canceled" for "deleted", else "active" (pass "trialing" with
        `trial_end` for a trial). The period defaults to [event time, +30 days); with
        `cancel_at_period_end`, `cancel_at` defaults to the period end. endive puts the period
        on `items.data[]`; legacy puts it on the subscription itself.
        """
        type = _full_type("customer.subscription", type)
        created = self.now if created is None else created
        period_start = created if period_start is None else period_start
        period_end = period_start + MONTH if period_end is None else period_end
        deleted = type == "customer.subscription.deleted"
        if status is None:
            status = "canceled" if deleted else "active"
        if trial_end is not None and trial_start is None:
            trial_start = period_start
        if cancel_at_period_end and cancel_at is None:
            cancel_at = period_end
        if deleted and canceled_at is None:
            canceled_at = created
        started = trial_start if trial_start is not None else period_start

        item: dict[str, Any] = {
            "id": _derived_id("si", subscription_id),
            "object": "subscription_item",
            "billing_thresholds": None,
            "created": started,
            "discounts": [],
            "metadata": {},
            "plan": _plan(price, unit_amount),
            "price": self._price(price, unit_amount),
            "quantity": quantity,
            "subscription": subscription_id,
            "tax_rates": [],
        }
        if not self.legacy:
            item["current_period_end"] = period_end
            item["current_period_start"] = period_start

        subscription: dict[str, Any] = {
            "id": subscription_id,
            "object": "subscription",
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": period_start,
            "billing_cycle_anchor_config": None,
            "billing_thresholds": None,
            "cancel_at": cancel_at,
            "cancel_at_period_end": cancel_at_period_end,
            "canceled_at": canceled_at,
            "cancellation_details": {
                "comment": None,
                "feedback": None,
                "reason": "cancellation_requested" if canceled_at or cancel_at else None,
            },
            "collection_method": "charge_automatically",
            "created": started,
            "currency": "usd",
            "customer": customer,
            "days_until_due": None,
            "default_payment_method": _derived_id("pm", customer),
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [],
            "ended_at": created if deleted else None,
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": _list([item], f"/v1/subscription_items?subscription={subscription_id}"),
            "latest_invoice": latest_invoice,
            "livemode": False,
            "metadata": dict(metadata or {}),
            "next_pending_invoice_item_invoice": None,
            "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": {
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": None,
            "schedule": None,
            "start_date": started,
            "status": status,
            "test_clock": None,
            "transfer_data": None,
            "trial_end": trial_end,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": trial_start,
        }
        if self.legacy:
            subscription.update(
                current_period_end=period_end,
                current_period_start=period_start,
                discount=None,
                plan=_plan(price, unit_amount),
                quantity=quantity,
            )
        else:
            subscription["billing_mode"] = {"flexible": None, "type": "classic"}
        return self.event(
            type,
            subscription,
            previous_attributes=previous_attributes,
            created=created,
            event_id=event_id,
        )

    # ------------------------------------------------------------ invoices

    def invoice_event(
        self,
        type: str = "invoice.paid",
        *,
        invoice_id: str | None = None,
        customer: str = DEFAULT_CUSTOMER,
        subscription: str | None = DEFAULT_SUBSCRIPTION,
        price: str = DEFAULT_PRICE,
        billing_reason: str = "subscription_create",
        amount_due: int | None = None,
        amount_paid: int | None = None,
        period_start: int | None = None,
        period_end: int | None = None,
        subscription_metadata: dict[str, str] | None = None,
        payment_intent: str | None = None,
        charge: str | None = None,
        quantity: int = 1,
        unit_amount: int = DEFAULT_AMOUNT,
        proration: bool = False,
        attempt_count: int | None = None,
        include_payments: bool = True,
        created: int | None = None,
        event_id: str | None = None,
    ) -> Event:
        """An `invoice.*` event with one line for `price`; `type` may be short: "paid"...

        `period_start`/`period_end` are the service period of the line (default: [event time,
        +30 days)). Like Stripe, the invoice's own top-level `period_start`/`period_end` are NOT
        that period: for "subscription_cycle" they cover the period just ended. Amounts default
        to `unit_amount * quantity` (0 paid on failures); a $0 invoice (trial) has no payment.
        A payment intent and charge are made up when there is something to pay. Real basil
        webhooks often omit `payments` (an includable field): `include_payments=False`.
        """
        type = _full_type("invoice", type)
        created = self.now if created is None else created
        period_start = created if period_start is None else period_start
        period_end = period_start + MONTH if period_end is None else period_end
        invoice_id = invoice_id or self.new_id("in")
        paid = type in _PAID_INVOICE_TYPES
        failed = type == "invoice.payment_failed"
        amount_due = unit_amount * quantity if amount_due is None else amount_due
        if amount_paid is None:
            amount_paid = amount_due if paid else 0
        if amount_due > 0:
            payment_intent = payment_intent or self.new_id("pi")
            charge = charge or self.new_id("ch")
        if attempt_count is None:
            attempt_count = 1 if amount_due > 0 and (paid or failed) else 0
        if billing_reason == "subscription_cycle":
            invoice_period = (period_start - (period_end - period_start), period_start)
        else:
            invoice_period = (period_start, period_start)

        line = self._invoice_line(
            invoice_id=invoice_id,
            subscription=subscription,
            price=price,
            amount=amount_due,
            quantity=quantity,
            unit_amount=unit_amount,
            period=(period_start, period_end),
            proration=proration,
        )
        number = f"TEST-{invoice_id[-6:]}"
        invoice: dict[str, Any] = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Credit Ledger Test",
            "account_tax_ids": None,
            "amount_due": amount_due,
            "amount_paid": amount_paid,
            "amount_remaining": amount_due - amount_paid,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": attempt_count,
            "attempted": attempt_count > 0 or paid,
            "auto_advance": not paid,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "billing_reason": billing_reason,
            "collection_method": "charge_automatically",
            "created": created,
            "currency": "usd",
            "custom_fields": None,
            "customer": customer,
            "customer_address": None,
            "customer_email": "buyer@example.com",
            "customer_name": None,
            "customer_phone": None,
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [],
            "due_date": None,
            "effective_at": created,
            "ending_balance": 0,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": f"https://invoice.stripe.com/i/test/{invoice_id}",
            "invoice_pdf": f"https://pay.stripe.com/invoice/test/{invoice_id}/pdf",
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": _list([line], f"/v1/invoices/{invoice_id}/lines"),
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": created + 3 * DAY if failed else None,
            "number": number,
            "on_behalf_of": None,
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": invoice_period[1],
            "period_start": invoice_period[0],
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": "paid" if paid else "open",
            "status_transitions": {
                "finalized_at": created,
                "marked_uncollectible_at": None,
                "paid_at": created if paid else None,
                "voided_at": None,
            },
            "subtotal": amount_due,
            "subtotal_excluding_tax": amount_due,
            "test_clock": None,
            "total": amount_due,
            "total_discount_amounts": [],
            "total_excluding_tax": amount_due,
            "webhooks_delivered_at": None,
        }
        if self.legacy:
            invoice.update(
                application_fee_amount=None,
                charge=charge,
                discount=None,
                paid=paid,
                paid_out_of_band=False,
                payment_intent=payment_intent,
                quote=None,
                subscription=subscription,
                subscription_details={"metadata": dict(subscription_metadata or {})}
                if subscription
                else None,
                subscription_proration_date=None,
                tax=None,
                total_tax_amounts=[],
                transfer_data=None,
            )
        else:
            invoice.update(
                amount_overpaid=0,
                automatically_finalizes_at=None,
                parent=_invoice_parent(subscription, subscription_metadata),
                total_pretax_credit_amounts=[],
                total_taxes=[],
            )
            if include_payments:
                payments = []
                if payment_intent is not None:
                    payments.append(
                        {
                            "id": self.new_id("inpay"),
                            "object": "invoice_payment",
                            "amount_paid": amount_paid if paid else None,
                            "amount_requested": amount_due,
                            "created": created,
                            "currency": "usd",
                            "invoice": invoice_id,
                            "is_default": True,
                            "livemode": False,
                            "payment": {"payment_intent": payment_intent, "type": "payment_intent"},
                            "status": "paid" if paid else "open",
                            "status_transitions": {
                                "canceled_at": None,
                                "paid_at": created if paid else None,
                            },
                        }
                    )
                invoice["payments"] = _list(payments, "/v1/invoice_payments")
        return self.event(type, invoice, created=created, event_id=event_id)

    def _invoice_line(
        self,
        *,
        invoice_id: str,
        subscription: str | None,
        price: str,
        amount: int,
        quantity: int,
        unit_amount: int,
        period: tuple[int, int],
        proration: bool,
    ) -> dict[str, Any]:
        line: dict[str, Any] = {
            "id": self.new_id("il"),
            "object": "line_item",
            "amount": amount,
            "currency": "usd",
            "description": f"{quantity} × {price} (at ${unit_amount / 100:.2f} / month)",
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": invoice_id,
            "livemode": False,
            "metadata": {},
            "period": {"end": period[1], "start": period[0]},
            "quantity": quantity,
        }
        subscription_item = _derived_id("si", subscription) if subscription else None
        if self.legacy:
            line.update(
                amount_excluding_tax=amount,
                invoice_item=None if subscription else self.new_id("ii"),
                plan=_plan(price, unit_amount),
                price=self._price(price, unit_amount),
                proration=proration,
                proration_details={"credited_items": None},
                subscription=subscription,
                subscription_item=subscription_item,
                tax_amounts=[],
                tax_rates=[],
                type="subscription" if subscription else "invoiceitem",
                unit_amount_excluding_tax=str(unit_amount),
            )
        else:
            if subscription:
                parent = {
                    "invoice_item_details": None,
                    "subscription_item_details": {
                        "invoice_item": None,
                        "proration": proration,
                        "proration_details": {"credited_items": None},
                        "subscription": subscription,
                        "subscription_item": subscription_item,
                    },
                    "type": "subscription_item_details",
                }
            else:
                parent = {
                    "invoice_item_details": {
                        "invoice_item": self.new_id("ii"),
                        "proration": proration,
                        "proration_details": {"credited_items": None},
                        "subscription": None,
                    },
                    "subscription_item_details": None,
                    "type": "invoice_item_details",
                }
            line.update(
                parent=parent,
                pretax_credit_amounts=[],
                pricing={
                    "price_details": {"price": price, "product": _product(price)},
                    "type": "price_details",
                    "unit_amount_decimal": str(unit_amount),
                },
                taxes=[],
            )
        return line

    # ------------------------------------------------------------ charges and disputes

    def charge_refunded(
        self,
        *,
        charge_id: str | None = None,
        payment_intent: str | None = None,
        amount: int = 1000,
        amount_refunded: int | None = None,
        customer: str | None = DEFAULT_CUSTOMER,
        previous_attributes: dict[str, Any] | None = None,
        created: int | None = None,
        event_id: str | None = None,
    ) -> Event:
        """`charge.refunded`; `amount_refunded` is the running total (default: all of it)."""
        created = self.now if created is None else created
        amount_refunded = amount if amount_refunded is None else amount_refunded
        charge = self._charge(
            charge_id=charge_id or self.new_id("ch"),
            payment_intent=payment_intent or self.new_id("pi"),
            amount=amount,
            amount_refunded=amount_refunded,
            customer=customer,
            created=created - DAY,
        )
        return self.event(
            "charge.refunded",
            charge,
            previous_attributes=previous_attributes,
            created=created,
            event_id=event_id,
        )

    def dispute_event(
        self,
        type: str = "charge.dispute.created",
        *,
        dispute_id: str | None = None,
        charge_id: str | None = None,
        payment_intent: str | None = None,
        amount: int = 1000,
        status: str | None = None,
        reason: str = "fraudulent",
        created: int | None = None,
        event_id: str | None = None,
    ) -> Event:
        """`charge.dispute.*`; `type` may be short: "created", "closed"...

        `status` defaults to "lost" for "closed", else "needs_response".
        """
        type = _full_type("charge.dispute", type)
        created = self.now if created is None else created
        if status is None:
            status = "lost" if type == "charge.dispute.closed" else "needs_response"
        dispute = {
            "id": dispute_id or self.new_id("dp"),
            "object": "dispute",
            "amount": amount,
            "balance_transactions": [],
            "charge": charge_id or self.new_id("ch"),
            "created": created,
            "currency": "usd",
            "enhanced_eligibility_types": [],
            "evidence": {
                "customer_email_address": None,
                "customer_name": None,
                "product_description": None,
                "uncategorized_text": None,
            },
            "evidence_details": {
                "due_by": created + 7 * DAY,
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "is_charge_refundable": status in ("needs_response", "warning_needs_response"),
            "livemode": False,
            "metadata": {},
            "payment_intent": payment_intent or self.new_id("pi"),
            "payment_method_details": {
                "card": {"brand": "visa", "case_type": "chargeback", "network_reason_code": "10.4"},
                "type": "card",
            },
            "reason": reason,
            "status": status,
        }
        return self.event(type, dispute, created=created, event_id=event_id)

    # ------------------------------------------------------------ customers

    def customer_event(
        self,
        type: str = "customer.created",
        *,
        customer: str = DEFAULT_CUSTOMER,
        metadata: dict[str, str] | None = None,
        email: str | None = "buyer@example.com",
        previous_attributes: dict[str, Any] | None = None,
        created: int | None = None,
        event_id: str | None = None,
    ) -> Event:
        """`customer.*`; `type` may be short. `metadata` may carry `account_id`."""
        created = self.now if created is None else created
        obj = {
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
            _full_type("customer", type),
            obj,
            previous_attributes=previous_attributes,
            created=created,
            event_id=event_id,
        )

    # ------------------------------------------------------------ shared pieces

    def _price(self, price: str, unit_amount: int) -> dict[str, Any]:
        return {
            "id": price,
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": 1_700_000_000,
            "currency": "usd",
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": _product(price),
            "recurring": {
                "interval": "month",
                "interval_count": 1,
                "meter": None,
                "trial_period_days": None,
                "usage_type": "licensed",
            },
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
        }

    def _charge(
        self,
        *,
        charge_id: str,
        payment_intent: str,
        amount: int,
        amount_refunded: int,
        customer: str | None,
        created: int,
    ) -> dict[str, Any]:
        charge: dict[str, Any] = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": amount_refunded,
            "application": None,
            "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": _derived_id("txn", charge_id),
            "billing_details": {"address": None, "email": None, "name": None, "phone": None},
            "calculated_statement_descriptor": "CREDIT LEDGER",
            "captured": True,
            "created": created,
            "currency": "usd",
            "customer": customer,
            "description": None,
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "fraud_details": {},
            "livemode": False,
            "metadata": {},
            "on_behalf_of": None,
            "outcome": {
                "network_status": "approved_by_network",
                "reason": None,
                "risk_level": "normal",
                "seller_message": "Payment complete.",
                "type": "authorized",
            },
            "paid": True,
            "payment_intent": payment_intent,
            "payment_method": _derived_id("pm", customer or charge_id),
            "payment_method_details": {"card": {"brand": "visa", "last4": "4242"}, "type": "card"},
            "receipt_email": None,
            "receipt_number": None,
            "receipt_url": f"https://pay.stripe.com/receipts/test/{charge_id}",
            "refunded": amount_refunded >= amount,
            "review": None,
            "shipping": None,
            "source_transfer": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "succeeded",
            "transfer_data": None,
            "transfer_group": None,
        }
        if self.legacy:
            charge["invoice"] = None  # basil removed Charge.invoice
        return charge


# ---------------------------------------------------------------- helpers


def _full_type(prefix: str, type: str) -> str:
    """ "updated" -> "customer.subscription.updated"; a full type is kept as it is."""
    return type if type.startswith(prefix + ".") else f"{prefix}.{type}"


def _derived_id(prefix: str, source: str) -> str:
    # Stable per source object, so every event about one subscription names the same item.
    return f"{prefix}_{source.split('_', 1)[-1]}"


def _product(price: str) -> str:
    return _derived_id("prod", price)


def _plan(price: str, unit_amount: int) -> dict[str, Any]:
    return {
        "id": price,
        "object": "plan",
        "active": True,
        "amount": unit_amount,
        "amount_decimal": str(unit_amount),
        "billing_scheme": "per_unit",
        "created": 1_700_000_000,
        "currency": "usd",
        "interval": "month",
        "interval_count": 1,
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": None,
        "product": _product(price),
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def _list(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": False, "total_count": len(data), "url": url}


def _invoice_parent(
    subscription: str | None, metadata: dict[str, str] | None
) -> dict[str, Any] | None:
    if subscription is None:
        return None
    return {
        "quote_details": None,
        "subscription_details": {"metadata": dict(metadata or {}), "subscription": subscription},
        "type": "subscription_details",
    }


def _empty_invoice_data() -> dict[str, Any]:
    return {
        "account_tax_ids": None,
        "custom_fields": None,
        "description": None,
        "footer": None,
        "issuer": None,
        "metadata": {},
        "rendering_options": None,
    }
