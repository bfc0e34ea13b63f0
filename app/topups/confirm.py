"""Stripe's confirmation of a top-up (the paid invoice, from the API's answer or the webhook,
whichever comes first): the pack is granted once, keyed by the invoice, through the same grant
and payment record as any pack, so a refund or dispute claws it back like one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.billing.catalog import Catalog
from app.ledger.entries import Attribution
from app.ledger.grants import NewGrant, grant_credits
from app.ledger.outbox import record_outbox
from app.ledger.repository import Repositories
from app.storage.database import Session
from app.stripe_events.payloads import invoice_payment_intent, metadata
from app.stripe_events.repository import PaymentRepository
from app.topups.repository import OPEN, TopupRepository
from app.topups.views import topup_view

Doc = dict[str, Any]


def topup_of(invoice: Doc) -> tuple[str, str] | None:
    """(account, top-up) an invoice was made for: its metadata, set when the job made it."""
    meta = metadata(invoice)
    account_id, topup_id = meta.get("account_id"), meta.get("topup_id")
    if isinstance(topup_id, str) and topup_id.startswith("tu_") and isinstance(account_id, str):
        return account_id, topup_id
    return None


async def confirm_paid(
    session: Session,
    repos: Repositories,
    topups: TopupRepository,
    payments: PaymentRepository,
    catalog: Catalog,
    invoice: Doc,
    now: datetime,
) -> tuple[str, Doc | None]:
    """Grant a paid top-up invoice's credits, once. Returns ("granted" | "duplicate" |
    "unknown", the top-up)."""
    named = topup_of(invoice)
    topup = await topups.get(session, *named) if named is not None else None
    if topup is None or not topup.get("credits"):
        return "unknown", topup
    account_id = topup["account_id"]
    pack = catalog.pack(topup["pack"])
    expires_at = (
        now + timedelta(days=pack.expires_after_days) if pack and pack.expires_after_days else None
    )
    key = f"invoice:{invoice['id']}"
    granted = await grant_credits(
        session,
        repos,
        NewGrant(
            account_id,
            topup["credits"],
            "purchase",
            expires_at=expires_at,
            by=Attribution(
                f"stripe:invoice:{invoice['id']}",
                key,
                "stripe",
                f"Auto top-up: {pack.name if pack else topup['pack']} x{topup['quantity']}",
                {"pack": topup["pack"], "topup": topup["_id"]},
            ),
        ),
        now,
    )
    if granted is None:
        return "duplicate", topup
    entry, _ = granted
    payment_intent = invoice_payment_intent(invoice)
    amount = invoice.get("amount_paid")
    # Kept as a pack's payment, by the invoice: a refund or dispute of its payment (linked
    # here from the answer, or by invoice_payment.paid) claws back like any pack.
    await payments.remember_invoice(
        session,
        invoice["id"],
        {
            "kind": "pack",
            "account_id": account_id,
            "grant_id": entry["grants"][0]["grant_id"],
            "credits": topup["credits"],
            "amount": amount,
            "source": f"stripe:invoice:{invoice['id']}",
        },
        payment_intent=payment_intent,
        charge_id=None,
        now=now,
    )
    done = await topups.finish(
        session,
        topup,
        {
            "status": "succeeded",
            "reason": None,
            "invoice_id": invoice["id"],
            "payment_intent": payment_intent,
            "amount": amount,
            "currency": invoice.get("currency"),
            "month": topup.get("month") or f"{now.year:04d}-{now.month:02d}",
            "completed_at": now,
            "updated_at": now,
        },
        statuses=(*OPEN, "failed", "canceled"),
    )
    if done is None:  # cannot be: the grant's key was free, so it never succeeded before
        raise RuntimeError(f"top-up {topup['_id']} succeeded twice")
    if topup["status"] in OPEN:
        await topups.end_round(session, account_id, {}, failures="reset")
    else:
        # Failed, then paid after all (the customer paid the open invoice): failures reset.
        await topups.save_settings(session, account_id, {"failures": 0}, now)
    record_outbox(
        repos.db,
        session,
        "event",
        account_id,
        {"type": "topup.succeeded", "data": {"topup": topup_view(done).model_dump(mode="json")}},
    )
    return "granted", done
