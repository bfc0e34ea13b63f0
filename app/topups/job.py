"""The top-up job: claims pending top-ups under a lease (several instances may run it), decides
what to buy within the monthly cap, buys it at Stripe outside any transaction, and records the
outcome in one transaction: granted, failed (3 in a row turn auto top-up off), canceled, or
tried again later with backoff when Stripe does not answer (same idempotency keys)."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import stripe

from app.billing.catalog import Catalog
from app.jobs.leased import Backoff, LeasedJob
from app.kit.clock import Clock, as_utc
from app.kit.metrics import Metrics
from app.ledger.access import available
from app.ledger.outbox import record_outbox
from app.ledger.repository import Repositories
from app.storage.database import Database
from app.stripe_events.repository import PaymentRepository
from app.topups.charge import Charged, Purchase, StripeCharger
from app.topups.confirm import confirm_paid
from app.topups.repository import TopupRepository
from app.topups.settings import month_of, packs_to_buy
from app.topups.views import topup_view

log = logging.getLogger("app.topups.job")

TOPUPS_TOTAL = "credit_ledger_topups_total"
# Past the Stripe calls' own bounds (4 requests of at most 10 s, each tried twice): a live
# worker finishes first; a dead one's top-up is taken up again when it runs out.
LEASE = timedelta(minutes=2)
# Stripe unreachable: tried again after about 30 s, 2 min, 10 min, 1 h, then every 3 h; given
# up after 20 h, inside the 24 h for which Stripe keeps an idempotency key's answer.
BACKOFF = Backoff(schedule=(30, 120, 600, 3600), every_after=10800)
GIVE_UP_AFTER = timedelta(hours=20)
FAILURES_TO_DISABLE = 3


@dataclass(eq=False)
class TopupJob(LeasedJob):
    db: Database
    repos: Repositories
    topups: TopupRepository
    payments: PaymentRepository
    charger: StripeCharger
    catalog: Catalog
    clock: Clock
    metrics: Metrics
    draw: Callable[[], float] = field(default=random.random, kw_only=True)

    def __post_init__(self) -> None:
        super().__init__("topups", self.clock, LEASE, log, "top-up job failed; retrying")

    async def run_once(self) -> int:
        """Every top-up due now, one after another; returns how many were tried."""
        tried = 0
        while (topup := await self._claim(self.topups.claim)) is not None:
            await self._process(topup)
            tried += 1
        return tried

    async def _process(self, topup: dict) -> None:
        if topup["status"] == "pending":
            planned = await self._plan(topup)
            if planned is None:
                return
            topup = planned
        charged = await self.charger.charge(Purchase.of(topup))
        if charged.outcome == "paid" and charged.invoice is not None:
            await self._paid(charged.invoice)
        elif charged.outcome == "failed":
            await self._failed(topup, charged)
        else:
            await self._unreachable(topup, charged)

    async def _plan(self, topup: dict) -> dict | None:
        """Fix what this top-up buys (never changed after: a re-run repeats the same requests
        under the same keys), or end it: turned off, no customer, or the month's cap."""
        now = self.clock.now()
        account = await self.repos.accounts.get(None, topup["account_id"])
        if account is None:
            await self._cancel(topup, "no_account")
            return None
        settings = account.get("auto_topup") or {}
        pack = self.catalog.pack(settings.get("pack") or "")
        why = (
            "disabled"
            if not settings.get("enabled")
            else "no_customer"
            if not account.get("stripe_customer_id")
            else "unknown_pack"
            if pack is None
            else None
        )
        if why is not None or pack is None:
            await self._cancel(topup, why or "unknown_pack")
            return None
        quantity = packs_to_buy(settings, pack, available(account))
        price = pack.stripe_prices[0]
        amount = currency = None
        if settings.get("monthly_cap_amount") is not None:
            try:
                unit, currency = await self.charger.unit_amount(price)
            except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
                await self._unreachable(topup, Charged("unreachable", message=str(error)[:200]))
                return None
            except stripe.StripeError as error:  # no such price: the catalog is wrong
                await self._cancel(topup, f"price_unavailable: {error.code or 'stripe_error'}")
                return None
            amount = (unit or 0) * quantity
        month = month_of(now)
        packs_done, amount_done = await self.topups.month_total(topup["account_id"], month)
        cap_packs, cap_amount = (
            settings.get("monthly_cap_packs"),
            settings.get("monthly_cap_amount"),
        )
        if (cap_packs is not None and packs_done + quantity > cap_packs) or (
            cap_amount is not None and amount_done + (amount or 0) > cap_amount
        ):
            await self._cancel(topup, "cap_reached", month=month)
            return None
        plan = {
            "status": "processing",
            "pack": pack.key,
            "price": price,
            "quantity": quantity,
            "credits": pack.credits * quantity,
            "amount": amount,
            "currency": currency,
            "month": month,
            "customer": account["stripe_customer_id"],
            "payment_method": settings.get("payment_method"),
            "description": f"Auto top-up: {pack.name} x{quantity}",
            "updated_at": now,
        }
        if not await self.topups.update_held(topup, self.owner, plan):
            return None  # the lease ran out and another worker has it
        return {**topup, **plan}

    async def _paid(self, invoice: dict) -> None:
        now = self.clock.now()

        async def unit(session):
            return await confirm_paid(
                session, self.repos, self.topups, self.payments, self.catalog, invoice, now
            )

        outcome, _ = await self.db.transaction(unit)
        if outcome == "granted":
            self.metrics.inc(TOPUPS_TOTAL, outcome="succeeded")

    async def _failed(self, topup: dict, charged: Charged) -> None:
        now = self.clock.now()
        failure = {
            "code": charged.code,
            "decline_code": charged.decline_code,
            "message": charged.message,
        }

        async def unit(session):
            done = await self.topups.finish(
                session,
                topup,
                {
                    "status": "failed",
                    "reason": charged.code,
                    "failure": failure,
                    "invoice_id": charged.invoice_id,
                    "attempts": topup.get("attempts", 0) + 1,
                    "completed_at": now,
                    "updated_at": now,
                },
            )
            if done is None:
                return None  # confirmed meanwhile (the webhook): nothing failed
            view = topup_view(done).model_dump(mode="json")
            record_outbox(
                self.db,
                session,
                "event",
                done["account_id"],
                {"type": "topup.failed", "data": {"topup": view}},
            )
            account = await self.topups.end_round(session, done["account_id"], {}, failures="count")
            settings = (account or {}).get("auto_topup") or {}
            if settings.get("enabled") and settings.get("failures", 0) >= FAILURES_TO_DISABLE:
                reason = f"{FAILURES_TO_DISABLE} top-ups failed in a row (last: {charged.code})"
                fields = {"enabled": False, "disabled_reason": reason}
                await self.topups.save_settings(session, done["account_id"], fields, now)
                data = {"reason": reason, "failures": settings["failures"], "topup": view}
                record_outbox(
                    self.db,
                    session,
                    "event",
                    done["account_id"],
                    {"type": "auto_topup.disabled", "data": data},
                )
                return "disabled"
            return "failed"

        outcome = await self.db.transaction(unit)
        if outcome is not None:
            self.metrics.inc(TOPUPS_TOTAL, outcome="failed")
        if outcome == "disabled":
            self.metrics.inc(TOPUPS_TOTAL, outcome="disabled")

    async def _cancel(self, topup: dict, reason: str, *, month: str | None = None) -> None:
        now = self.clock.now()

        async def unit(session):
            done = await self.topups.finish(
                session,
                topup,
                {"status": "canceled", "reason": reason, "completed_at": now, "updated_at": now},
            )
            if done is None:
                return False
            fields = {"cap_reached_month": month} if month else {}
            await self.topups.end_round(session, done["account_id"], fields, failures="keep")
            if month:
                data = {"month": month, "topup": topup_view(done).model_dump(mode="json")}
                record_outbox(
                    self.db,
                    session,
                    "event",
                    done["account_id"],
                    {"type": "auto_topup.cap_reached", "data": data},
                )
            return True

        if await self.db.transaction(unit):
            self.metrics.inc(TOPUPS_TOTAL, outcome="cap_reached" if month else "canceled")

    async def _unreachable(self, topup: dict, charged: Charged) -> None:
        now = self.clock.now()
        attempts = topup.get("attempts", 0) + 1
        first = as_utc(topup.get("first_attempt_at") or now)
        if now - first >= GIVE_UP_AFTER:
            gave_up = Charged(
                "failed", charged.invoice_id, code="stripe_unreachable", message=charged.message
            )
            await self._failed({**topup, "attempts": attempts - 1}, gave_up)
            return
        fields: dict[str, Any] = {
            "attempts": attempts,
            "first_attempt_at": first,
            "next_attempt_at": now + BACKOFF.after(attempts, self.draw),
            "last_error": charged.message,
            "updated_at": now,
            "lease_owner": None,
        }
        if charged.invoice_id:
            fields["invoice_id"] = charged.invoice_id
        await self.topups.update_held(topup, self.owner, fields)
        self.metrics.inc(TOPUPS_TOTAL, outcome="retried")
        log.warning(
            "top-up %s: Stripe did not answer (%s); tried again later",
            topup["_id"],
            charged.message,
        )

    # In the service: a loop, stopped at shutdown (a top-up cut short is taken up again
    # when its lease runs out, under the same Stripe idempotency keys).

    def start(self, interval: float = 2.0) -> None:
        super().start(interval)
