"""customer.created / customer.updated: a customer whose metadata names its account is linked
to it, which also applies the events parked until then."""

from __future__ import annotations

from app.stripe_events.context import EventContext, Outcome
from app.stripe_events.payloads import metadata
from app.stripe_events.resolution import resolve_account


async def customer_changed(ctx: EventContext) -> Outcome:
    customer = ctx.obj
    meta = metadata(customer)
    if not meta.get("account_id"):
        return Outcome("ignored", customer_id=customer["id"], note="no metadata.account_id")
    account_id = await resolve_account(ctx, customer["id"], metadata=[meta])
    await remember_email(ctx, account_id, customer.get("email"))
    return Outcome("processed", account_id, customer["id"])


async def remember_email(ctx: EventContext, account_id: str, email: object) -> None:
    """The customer's email, for operators to find the account by (lower case)."""
    if isinstance(email, str) and "@" in email and len(email) <= 254:
        await ctx.repos.accounts.set_fields(
            ctx.session, account_id, {"email": email.strip().lower()}, ctx.now
        )
