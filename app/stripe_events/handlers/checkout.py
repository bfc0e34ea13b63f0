"""Checkout sessions: linking a subscription's customer, and credit packs paid at checkout."""

from __future__ import annotations

from datetime import timedelta

from app.billing.standing import subscriptions_of
from app.ledger.entries import Attribution
from app.ledger.grants import NewGrant, grant_credits
from app.stripe_events.context import EventContext, Outcome, PermanentFailure
from app.stripe_events.handlers.customers import remember_email
from app.stripe_events.payloads import customer_of, metadata, object_id
from app.stripe_events.resolution import resolve_account


async def session_completed(ctx: EventContext) -> Outcome:
    session = ctx.obj
    mode = session.get("mode")
    if mode == "subscription":
        return await _subscription_checkout(ctx)
    if mode == "payment":
        return await _pack_checkout(ctx)
    return Outcome("ignored", note=f"checkout mode {mode!r} brings no credits")


async def _subscription_checkout(ctx: EventContext) -> Outcome:
    session = ctx.obj
    customer = customer_of(session)
    account_id = await resolve_account(
        ctx,
        customer,
        client_reference_id=session.get("client_reference_id"),
        metadata=[metadata(session)],
    )
    await remember_email(ctx, account_id, _email(session))
    subscription = object_id(session.get("subscription"))
    account = await ctx.repos.accounts.get(ctx.session, account_id)
    # Shown until the subscription's own events give the account its standing; after that
    # the standing says which subscription speaks for the account.
    if subscription and not subscriptions_of(account or {}):
        await ctx.repos.accounts.set_fields(
            ctx.session, account_id, {"stripe_subscription_id": subscription}, ctx.now
        )
    return Outcome(
        "processed", account_id, customer, note="linked; credits come with the paid invoice"
    )


async def _pack_checkout(ctx: EventContext) -> Outcome:
    session = ctx.obj
    meta = metadata(session)
    pack = ctx.catalog.pack(str(meta.get("pack"))) if meta.get("pack") else None
    if pack is None:
        raise PermanentFailure(
            f"checkout session {session.get('id')}: metadata.pack {meta.get('pack')!r} is not "
            "a pack of the plan catalog",
            code="unknown_pack",
        )
    quantity = _quantity(meta.get("quantity", 1))
    customer = customer_of(session)
    account_id = await resolve_account(
        ctx, customer, client_reference_id=session.get("client_reference_id"), metadata=[meta]
    )
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        # Async payment methods: credits come with checkout.session.async_payment_succeeded.
        return Outcome("processed", account_id, customer, note="payment not settled yet")
    credits = pack.credits * quantity
    expires_at = (
        ctx.created + timedelta(days=pack.expires_after_days) if pack.expires_after_days else None
    )
    source = f"stripe:checkout:{session['id']}"
    granted = await grant_credits(
        ctx.session,
        ctx.repos,
        NewGrant(
            account_id,
            credits,
            "purchase",
            expires_at=expires_at,
            by=Attribution(
                source,
                f"checkout:{session['id']}",
                "stripe",
                f"{pack.name} x{quantity}",
                {"pack": pack.key, "event": ctx.id},
            ),
        ),
        ctx.now,
    )
    if granted is None:
        return Outcome("duplicate", account_id, customer, note="pack already granted")
    entry, _ = granted
    payment_intent = object_id(session.get("payment_intent"))
    if payment_intent:
        ctx.linked_payments.append(payment_intent)  # disputes of it waiting until now
    await ctx.stores.payments.remember(
        ctx.session,
        {
            "_id": payment_intent or f"checkout:{session['id']}",
            "kind": "pack",
            "account_id": account_id,
            "grant_id": entry["grants"][0]["grant_id"],
            "credits": credits,
            "amount": session.get("amount_total"),
            "clawed_back": 0,
            "source": source,
            "created_at": ctx.now,
        },
    )
    return Outcome("processed", account_id, customer)


def _email(session: dict) -> object:
    details = session.get("customer_details")
    found = details.get("email") if isinstance(details, dict) else None
    return found or session.get("customer_email")


def _quantity(value: object) -> int:
    try:
        quantity = int(str(value))
    except ValueError:
        quantity = 0
    if not 1 <= quantity <= 1000:
        raise PermanentFailure(
            f"metadata.quantity {value!r} is not a whole number 1-1000", code="bad_quantity"
        )
    return quantity
