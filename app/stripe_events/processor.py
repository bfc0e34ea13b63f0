"""Receiving, logging and applying Stripe events: what an event needs from Stripe's API is
fetched first, outside any transaction; then its effects and its final mark commit in one
short transaction whose first write is its account's. Parked events run again once their
customer (or, for a dispute, their payment) is linked."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from app.billing.catalog import Catalog
from app.kit.clock import Clock
from app.kit.errors import EventNotFound, EventNotReplayable
from app.kit.metrics import Metrics
from app.storage.database import Database, Session
from app.stripe_events.concerns import concerned
from app.stripe_events.context import (
    EventContext,
    Fetched,
    Outcome,
    Park,
    PermanentFailure,
    WebhookStores,
)
from app.stripe_events.handlers import HANDLERS
from app.stripe_events.prefetch import prefetch
from app.stripe_events.repository import EventRepository, is_pending, stored_type
from app.stripe_events.signature import verify_event
from app.stripe_events.validation import UnusableEvent, check_event, thin_event_note

log = logging.getLogger("app.webhooks")

DRAIN_ATTEMPTS = 3


@dataclass(eq=False)
class WebhookProcessor:
    db: Database
    stores: WebhookStores
    events: EventRepository
    catalog: Catalog
    clock: Clock
    secrets: tuple[str, ...]
    metrics: Metrics
    # The STRIPE_API_KEY's mode; None: every event applies.
    livemode: bool | None = field(default=None, kw_only=True)

    async def receive(self, body: bytes, signature: str | None) -> str:
        """A delivery from Stripe: verify, store once, apply. Returns the status to answer."""
        event, payload = verify_event(body, signature, self.secrets)
        return await self.ingest(event, payload)

    async def ingest(self, event: dict[str, Any], payload: str) -> str:
        """Store an authentic event once by its id, then apply it; returns its status.

        Authentic means verified by its signature (`receive`) or fetched from Stripe's API
        with the secret key (the backfill of missed events): nothing here checks it again.
        """
        thin = thin_event_note(event)
        try:
            unusable = None
            if not thin:
                check_event(event)
        except UnusableEvent as exc:
            unusable = f"unusable payload: {exc}"
        stored = await self.events.record(
            event, payload, self.clock.now(), error=unusable, ignored=thin
        )
        if stored is None:
            existing = await self.events.get(None, event["id"])
            # Stored but never applied (a transient failure answered 500): Stripe's retry
            # applies it now. Anything else was decided before: this delivery changes nothing.
            if existing is None or existing["status"] != "received":
                self._count(stored_type(existing), "duplicate")
                return "duplicate"
        elif thin:
            # Not a failure: nothing to alert on, nothing a replay could change.
            self._count(stored_type(stored), "ignored")
            return "ignored"
        elif unusable:
            # Stored as failed, with the reason: a replay will not help; Stripe gets a 200.
            log.warning("webhook event %s failed: %s", event["id"], unusable)
            self.metrics.inc("credit_ledger_webhook_failures_total", reason="bad_payload")
            self._count(stored_type(stored), "failed")
            customer_id, account_id = await concerned(payload, self.stores.customers, None)
            if customer_id or account_id:
                links = {"customer_id": customer_id, "account_id": account_id}
                await self.events.finish(None, event["id"], links)
            return "failed"
        return await self.process(event["id"])

    async def replay(self, event_id: str) -> str:
        found = await self.events.get(None, event_id)
        if found is None:
            raise EventNotFound(f"no webhook event {event_id!r}")
        # "received": stored, but a transient failure stopped it and Stripe gave up retrying.
        if found["status"] not in ("failed", "parked", "received"):
            raise EventNotReplayable(
                f"event {event_id} is {found['status']}; only failed, "
                "parked or unapplied (received) events replay"
            )
        return await self.process(event_id)

    async def process(self, event_id: str) -> str:
        token = str(ObjectId())
        try:
            found = await self.events.get(None, event_id)
            if not is_pending(found):
                return "duplicate"  # applied by another delivery meanwhile
            event = _readable(found["payload"])
            # A thin event stored failed by an older version and replayed: ignored now.
            not_applied = thin_event_note(event) or wrong_mode(event, self.livemode)
            # Stripe's API is asked here, once: a transaction run again must not ask again.
            fetched = Fetched() if not_applied else await prefetch(event, self.stores)
            outcome = await self.db.transaction(
                lambda s: self._apply(s, event, token, fetched, not_applied)
            )
        except Park as parked:
            await self._record(event_id, token, "parked", str(parked), parked.customer_id, None)
            # Linked between this attempt and its record, the drain has come and gone without
            # this event: apply it now rather than leave it parked for good.
            if parked.customer_id and await self.stores.customers.account_for(
                None, parked.customer_id
            ):
                return await self.process(event_id)
            return "parked"
        except PermanentFailure as failure:
            log.warning("webhook event %s failed: %s", event_id, failure)
            self.metrics.inc("credit_ledger_webhook_failures_total", reason=failure.code)
            await self._record(
                event_id, token, "failed", str(failure), failure.customer_id, failure.account_id
            )
            return "failed"
        except Exception:
            # Transient (the database, say): leave it "received" so Stripe's retry applies it.
            log.exception("webhook event %s could not be applied; Stripe will retry", event_id)
            with contextlib.suppress(Exception):  # the database may be what failed
                await self._record(
                    event_id, token, "received", "transient error; will retry", None, None
                )
            raise
        if outcome.type:  # empty when another delivery had already claimed the event
            self._count(outcome.type, outcome.status)
        for customer_id in outcome.linked:
            await self._drain(await self.events.parked_for(customer_id))
        for payment_id in outcome.linked_payments:
            await self._drain(await self.events.awaiting_payment(payment_id))
        # Linked between this attempt and its commit, the payment's drain has come and gone
        # without this event: look at it again now.
        if outcome.awaits_payment and await self._payment_linked(outcome.awaits_payment):
            return await self.process(event_id)
        return outcome.status

    def _count(self, event_type: str, status: str) -> None:
        # Labels from a fixed set: each invented type would add a series for good.
        label = event_type if event_type in HANDLERS else "other"
        self.metrics.inc("credit_ledger_webhook_events_total", type=label, status=status)

    async def _payment_linked(self, payment_ids: tuple[str, ...]) -> bool:
        for payment_id in payment_ids:  # a payment intent or a charge: look as either
            known = await self.stores.payments.find(None, payment_id, payment_id)
            if known is not None and known.get("account_id") is not None:
                return True
        return False

    async def _apply(
        self,
        session: Session,
        event: dict[str, Any],
        token: str,
        fetched: Fetched,
        not_applied: str | None,
    ) -> Applied:
        """The transaction: nothing here calls Stripe (`fetched` has it), so a run again after
        a write conflict is as short as the first."""
        event_id = event["id"]
        if fetched.account_id is not None:
            await self.stores.ledger.accounts.mark_stripe_event(
                session, fetched.account_id, event_id
            )
        claimed = await self.events.claim(session, event_id, token)
        if claimed is None:
            return Applied("duplicate", [], [], "", ())
        ctx = EventContext(session, self.stores, self.catalog, event, self.clock.now(), fetched)
        handler = HANDLERS.get(event["type"])
        if not_applied:
            outcome = Outcome("ignored", note=not_applied)
        else:
            outcome = await handler(ctx) if handler else Outcome("ignored", note="not handled")
        note = "; ".join(n for n in (outcome.note, *ctx.notes) if n) or None
        await self.events.finish(
            session,
            event_id,
            {
                "status": outcome.status,
                "account_id": outcome.account_id,
                "customer_id": outcome.customer_id,
                "error": None,
                "note": note,
                "processed_at": ctx.now,
                # An ignored dispute looked at again when its payment is linked (or None).
                "awaits_payment": list(outcome.awaits_payment) or None,
            },
        )
        return Applied(
            outcome.status,
            ctx.linked_customers,
            ctx.linked_payments,
            event["type"],
            outcome.awaits_payment,
        )

    async def _record(
        self,
        event_id: str,
        token: str,
        status: str,
        error: str | None,
        customer_id: str | None,
        account_id: str | None,
    ) -> None:
        current = await self.events.get(None, event_id)
        attempts = (current or {}).get("attempts", 0)
        if current and current.get("claim") != token:
            attempts += 1  # the aborted transaction took its increment with it
        if current and status in ("failed", "parked"):
            self._count(stored_type(current), status)
            if account_id is None:  # shown on the account's page, alerted on its stream
                customer_id, account_id = await concerned(
                    current.get("payload"), self.stores.customers, customer_id
                )
        await self.events.fail(
            event_id,
            token,
            attempts,
            {
                "status": status,
                "error": error,
                "customer_id": customer_id,
                "account_id": account_id,
                "processed_at": self.clock.now(),
            },
        )

    async def _drain(self, parked: list[str]) -> None:
        """Apply, oldest first, the events parked until their customer had an account (or
        their payment an invoice). The link that drains them has committed, so a transient
        failure of one of them must not fail the delivery that made the link: Stripe would
        only re-deliver that one."""
        for event_id in parked:
            for attempt in range(DRAIN_ATTEMPTS):
                try:
                    await self.process(event_id)
                    break
                except Exception:
                    # Left "received" with its error: visible in the log, and replayable.
                    log.warning(
                        "parked event %s: attempt %d of %d failed",
                        event_id,
                        attempt + 1,
                        DRAIN_ATTEMPTS,
                    )


def _readable(payload: object) -> dict[str, Any]:
    """A stored event as the handlers may use it (events stored before the check ran, or a
    replay, pass the same check as a fresh delivery)."""
    try:
        event = json.loads(payload) if isinstance(payload, str) else None
    except (ValueError, RecursionError):
        event = None
    if not isinstance(event, dict):
        raise PermanentFailure(
            "unusable payload: the stored payload is not a JSON object", code="bad_payload"
        )
    if thin_event_note(event):
        return event
    try:
        check_event(event)
    except UnusableEvent as exc:
        raise PermanentFailure(f"unusable payload: {exc}", code="bad_payload") from None
    return event


def wrong_mode(event: dict[str, Any], livemode: bool | None) -> str | None:
    """Why an event of the other mode than STRIPE_API_KEY's is not applied, or None."""
    sent = event.get("livemode")
    if livemode is None or not isinstance(sent, bool) or sent == livemode:
        return None
    if sent:
        return (
            "a live-mode event, but STRIPE_API_KEY is a test key: a live endpoint points "
            "at this test service; not applied"
        )
    return (
        "a test-mode event, but STRIPE_API_KEY is a live key: a test endpoint points at "
        "this production service; not applied"
    )


@dataclass(frozen=True)
class Applied:
    status: str
    linked: list[str]
    linked_payments: list[str]
    type: str
    awaits_payment: tuple[str, ...]
