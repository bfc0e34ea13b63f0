"""Checkout Sessions (the `checkout.session` fixture): a subscription's or a credit pack's
purchase, as `checkout.session.completed` and its async payment outcomes carry it."""

from __future__ import annotations

from typing import Literal

from stripe_fixtures.common import (
    DAY,
    DEFAULT_ACCOUNT,
    DEFAULT_AMOUNT,
    DEFAULT_CUSTOMER,
    DEFAULT_SUBSCRIPTION,
    Obj,
    full_type,
)
from stripe_fixtures.factory import Factory


class CheckoutSessions(Factory):
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
    ) -> Obj:
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
        session: Obj = {
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
            full_type("checkout.session", type), session, created=created, event_id=event_id
        )


def _empty_invoice_data() -> Obj:
    return {
        "account_tax_ids": None,
        "custom_fields": None,
        "description": None,
        "footer": None,
        "issuer": None,
        "metadata": {},
        "rendering_options": None,
    }
