"""Which account a Stripe object belongs to, and the customer -> account link."""

from __future__ import annotations

from typing import Any

from app.ledger.expiry import expire_due
from app.ledger.schemas import is_account_id
from app.stripe_events.context import EventContext, Park
from app.stripe_events.payloads import metadata


def _valid(candidate: Any) -> str | None:
    return candidate if is_account_id(candidate) else None


async def resolve_account(
    ctx: EventContext,
    customer_id: str | None,
    *,
    client_reference_id: Any = None,
    metadata: list[dict[str, Any]] | None = None,
) -> str:
    """In this order: the checkout session's client_reference_id, then `account_id` in the
    given metadata (and in the customer's own, read from Stripe's API before the transaction
    when the customer is not linked), then the stored customer mapping. The first account
    found for a customer is linked to it, whatever other customers the account has; a name in
    the event wins over the link. Unresolvable: Park (kept until the customer is linked)."""
    account_id = await _resolve(ctx, customer_id, client_reference_id, metadata)
    # Every write to an account first expires what is due on it.
    await ctx.repos.accounts.ensure(ctx.session, account_id, ctx.now)
    await expire_due(ctx.session, ctx.repos, account_id, ctx.now)
    return account_id


async def _resolve(
    ctx: EventContext,
    customer_id: str | None,
    client_reference_id: Any,
    metadata: list[dict[str, Any]] | None,
) -> str:
    named = _valid(client_reference_id)
    for meta in (*(metadata or []), _fetched_customer_metadata(ctx, customer_id)):
        named = named or _valid(meta.get("account_id"))
    customers = ctx.stores.customers
    linked = await customers.account_for(ctx.session, customer_id) if customer_id else None
    if named is None:
        if linked is None:
            raise Park(customer_id, f"no account known yet for customer {customer_id}")
        return linked
    if customer_id is None or linked == named:
        return named
    # The product named the account itself (client_reference_id, metadata): that wins, for
    # this event. A customer's link stays the first one made; it only serves events that
    # name no account.
    if linked is not None:
        ctx.notes.append(f"customer {customer_id} stays linked to account {linked!r}")
        return named
    # A customer not linked yet is linked to the account it names, even when the account has
    # other customers (the first one deleted, a second one made by the product): each
    # customer has one account; an account may have several customers.
    # Linked concurrently by another event, the unique _id refuses this link: the error is
    # transient (500, the event stays "received"), and Stripe's retry sees the link.
    await customers.link(ctx.session, customer_id, named, ctx.now)
    await ctx.repos.accounts.ensure(ctx.session, named, ctx.now)
    await ctx.repos.accounts.set_fields(
        ctx.session, named, {"stripe_customer_id": customer_id}, ctx.now
    )
    ctx.linked_customers.append(customer_id)
    return named


def _fetched_customer_metadata(ctx: EventContext, customer_id: str | None) -> dict[str, Any]:
    """The customer's own metadata, read from Stripe's API before the transaction when the
    event names no account and the customer was not linked (see prefetch.py)."""
    customer = ctx.fetched.customer
    if customer_id is None or customer is None or customer.get("id") != customer_id:
        return {}
    return metadata(customer)
