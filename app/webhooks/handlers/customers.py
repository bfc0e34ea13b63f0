"""customer.created / customer.updated: a customer whose metadata names its account is linked
to it, which also applies the events parked until then."""

from __future__ import annotations

from app.webhooks.context import EventContext, Outcome
from app.webhooks.payloads import metadata
from app.webhooks.resolution import resolve_account


async def customer_changed(ctx: EventContext) -> Outcome:
    customer = ctx.obj
    meta = metadata(customer)
    if not meta.get("account_id"):
        return Outcome("ignored", customer_id=customer["id"], note="no metadata.account_id")
    account_id = await resolve_account(ctx, customer["id"], metadata=[meta])
    return Outcome("processed", account_id, customer["id"])
