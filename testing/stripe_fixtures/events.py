"""StripeEvents: one factory of webhook events about every Stripe object the service reads."""

from __future__ import annotations

from stripe_fixtures.charges import Charges
from stripe_fixtures.checkout_sessions import CheckoutSessions
from stripe_fixtures.customers import Customers
from stripe_fixtures.disputes import Disputes
from stripe_fixtures.invoices import Invoices
from stripe_fixtures.subscriptions import Subscriptions


class StripeEvents(CheckoutSessions, Subscriptions, Invoices, Charges, Disputes, Customers):
    """`StripeEvents(shape="endive" | "legacy", now=<unix seconds>)`: each builder's
    `*_event` method is in the module of its object; ids, clock and envelope in factory.py."""
