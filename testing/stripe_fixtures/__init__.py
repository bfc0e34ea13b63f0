"""Stripe objects and webhook events as Stripe sends them, for the tests, the demo and the
benchmark (a development package: the production image never installs it).

    events = StripeEvents(shape="endive", now=1_790_000_000)
    event = events.invoice_event("invoice.paid", customer="cus_1", subscription="sub_1")
    body, headers = signed_request(event, secret="whsec_test")
    await client.post("/webhooks/stripe", content=body, headers=headers)

One module per Stripe object (checkout_sessions, subscriptions, invoices, invoice_payments,
charges, disputes, customers, prices), the event envelope (envelope), and the signature
(signing). Where a field lives differs by API version: `shape="endive"` (the multi-line
builders say `layout="current"`) renders 2026-10-28.endive, the basil layout; "legacy" renders
2024-06-20. Each shape follows the `stripe/openapi` repository's `openapi/fixtures3.json` and
stripe-python 16's resource classes; only what a reader might look at is kept.

The event factory's builders take keyword arguments only; ids default to fresh unique ones
(`evt_`, `in_`, `cs_`...) except customer, subscription and account, which default to one
shared value so a sequence of events links up without ceremony.
"""

from stripe_fixtures.common import (
    DAY,
    DEFAULT_ACCOUNT,
    DEFAULT_CUSTOMER,
    DEFAULT_PRICE,
    DEFAULT_SUBSCRIPTION,
    ENDIVE_API_VERSION,
    LAYOUTS,
    LEGACY_API_VERSION,
    MONTH,
    Layout,
    Shape,
)
from stripe_fixtures.events import StripeEvents
from stripe_fixtures.signing import sign, signed_headers, signed_request, to_body

__all__ = [
    "DAY",
    "DEFAULT_ACCOUNT",
    "DEFAULT_CUSTOMER",
    "DEFAULT_PRICE",
    "DEFAULT_SUBSCRIPTION",
    "ENDIVE_API_VERSION",
    "LAYOUTS",
    "LEGACY_API_VERSION",
    "MONTH",
    "Layout",
    "Shape",
    "StripeEvents",
    "sign",
    "signed_headers",
    "signed_request",
    "to_body",
]
