"""One handler per Stripe event family; the registry maps event types to them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.stripe_events.context import EventContext, Outcome
from app.stripe_events.handlers import (
    charges,
    checkout,
    customers,
    invoices,
    payments,
    subscriptions,
)

Handler = Callable[[EventContext], Awaitable[Outcome]]

HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": checkout.session_completed,
    "checkout.session.async_payment_succeeded": checkout.session_completed,
    "customer.created": customers.customer_changed,
    "customer.updated": customers.customer_changed,
    "customer.subscription.created": subscriptions.subscription_changed,
    "customer.subscription.updated": subscriptions.subscription_changed,
    "customer.subscription.paused": subscriptions.subscription_changed,
    "customer.subscription.resumed": subscriptions.subscription_changed,
    "customer.subscription.deleted": subscriptions.subscription_deleted,
    "invoice.paid": invoices.invoice_paid,
    "invoice.payment_succeeded": invoices.invoice_paid,
    "invoice.payment_failed": invoices.invoice_payment_failed,
    "invoice_payment.paid": payments.invoice_payment_paid,
    "charge.refunded": charges.charge_refunded,
    "charge.dispute.created": charges.dispute_created,
    "charge.dispute.closed": charges.dispute_closed,
}
