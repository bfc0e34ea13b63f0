"""What an event needs from outside its transaction, read before the transaction starts: from
Stripe's API (with STRIPE_API_KEY) the lines an invoice's event does not carry, the invoices a
refunded or disputed payment paid, and the customer of an event that names no account; and
the account the event will write. A transaction run again (after a write conflict) then
repeats no HTTP call and stays short, and its first write can be the account's."""

from __future__ import annotations

from typing import Any

from app.ledger.schemas import is_account_id
from app.stripe_events.context import Fetched, PaidInvoices, WebhookStores
from app.stripe_events.payloads import (
    customer_of,
    invoice_subscription,
    invoice_subscription_metadata,
    metadata,
    object_id,
)

Event = dict[str, Any]

# The events whose handler reads the invoice's lines.
LINE_EVENTS = frozenset({"invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed"})
# The events whose account is the one of the payment they name.
PAYMENT_EVENTS = frozenset({"charge.refunded", "charge.dispute.created", "charge.dispute.closed"})


async def prefetch(event: Event, stores: WebhookStores) -> Fetched:
    """Everything `event`'s handler will need from outside the database, and its account."""
    obj = event["data"]["object"]
    kind = event["type"]
    if kind in PAYMENT_EVENTS:
        return await _payment(kind, obj, stores)
    if kind == "invoice_payment.paid":
        known = await stores.payments.get(None, object_id(obj.get("invoice")))
        return Fetched(account_id=(known or {}).get("account_id"))
    customer = obj.get("id") if kind in ("customer.created", "customer.updated") else None
    customer = customer or customer_of(obj)
    account_id = named_account(obj)
    if account_id is None and isinstance(customer, str):
        account_id = await stores.customers.account_for(None, customer)
    fetched_customer = None
    if account_id is None and customer and stores.lookup and _resolves_customer(kind, obj):
        # A customer no event linked yet may name its account in its own metadata (a second
        # customer of an account, made by the product): read it rather than park the event.
        fetched_customer = await stores.lookup.customer(customer)
        account_id = valid_account(metadata(fetched_customer).get("account_id"))
    lines = None
    if kind in LINE_EVENTS and stores.lookup and _lines_cut_short(obj):
        # The event carries only the invoice's first lines: the rest are read once, here.
        lines = tuple(await stores.lookup.invoice_lines(obj["id"]))
    return Fetched(account_id=account_id, invoice_lines=lines, customer=fetched_customer)


def valid_account(candidate: Any) -> str | None:
    return candidate if is_account_id(candidate) else None


def named_account(obj: dict[str, Any]) -> str | None:
    """The account a Stripe object names itself: a checkout session's client_reference_id,
    or `metadata.account_id` on it or on the invoice's subscription."""
    for candidate in (
        obj.get("client_reference_id"),
        metadata(obj).get("account_id"),
        invoice_subscription_metadata(obj).get("account_id"),
    ):
        if valid_account(candidate):
            return candidate
    return None


def _resolves_customer(kind: str, obj: dict[str, Any]) -> bool:
    """Whether the handler resolves the account through the object's customer (a customer
    event names its own metadata; an invoice of no subscription, or a checkout of neither
    mode, is ignored)."""
    if kind.startswith("customer.subscription."):
        return True
    if kind in LINE_EVENTS:
        return invoice_subscription(obj) is not None
    if kind.startswith("checkout.session."):
        return obj.get("mode") in ("subscription", "payment")
    return False


def _lines_cut_short(invoice: dict[str, Any]) -> bool:
    lines = invoice.get("lines")
    return (
        invoice_subscription(invoice) is not None
        and isinstance(lines, dict)
        and lines.get("has_more") is True
    )


async def _payment(kind: str, obj: dict[str, Any], stores: WebhookStores) -> Fetched:
    """A refund or dispute: the account of the payment it names; for a payment not linked yet,
    Stripe's answer on which invoices it paid (with STRIPE_API_KEY)."""
    payment_intent = object_id(obj.get("payment_intent"))
    charge = obj.get("id") if kind == "charge.refunded" else object_id(obj.get("charge"))
    known = await stores.payments.find(None, payment_intent, charge)
    if known is not None and known.get("account_id") is not None:
        return Fetched(account_id=known["account_id"])
    if stores.lookup is None:
        return Fetched()
    payment_intent, invoices = await stores.lookup.invoices_paid_by(payment_intent, charge)
    account_id = None
    for invoice in invoices:
        known = await stores.payments.get(None, invoice)
        account_id = account_id or (known or {}).get("account_id")
    paid = PaidInvoices(payment_intent, tuple(invoices))
    return Fetched(account_id=account_id, paid_invoices=paid)
