"""What a handler gets: the event, the time, the catalog, the repositories, in one session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.billing.catalog import Catalog, Plan
from app.billing.units import Learned, State, credit_unit
from app.kit.logs import clip
from app.ledger.repository import Repositories
from app.storage.database import Session
from app.stripe_events.payloads import ts
from app.stripe_events.repository import CustomerRepository, PaymentRepository
from app.stripe_events.stripe_api import StripeLookup

# The longest error text kept for a Stripe event: enough for ids and a sentence.
MAX_ERROR = 500


class Park(Exception):  # noqa: N818 - an outcome, not an error
    """The account cannot be resolved yet: keep the event until its customer is linked."""

    def __init__(self, customer_id: str | None, reason: str) -> None:
        super().__init__(clip(reason, MAX_ERROR))
        self.customer_id = customer_id


class PermanentFailure(Exception):
    """Retrying the same event will not help (unknown price, conflicting link): mark it
    failed with a readable error; it can be replayed after the cause is fixed."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "permanent",
        customer_id: str | None = None,
        account_id: str | None = None,
    ) -> None:
        # Stripe's strings in it (a price id, a pack name) are cut short: it is logged, stored
        # and shown in the console.
        super().__init__(clip(message, MAX_ERROR))
        self.code = code  # a stable label for metrics: unknown_price, unknown_pack, ...
        self.customer_id = customer_id
        self.account_id = account_id


@dataclass
class Outcome:
    status: str  # processed | ignored | duplicate
    account_id: str | None = None
    customer_id: str | None = None
    note: str | None = None
    # Ignored for now, looked at again when one of these payments (intent or charge) is
    # linked to an account: a dispute that came before its payment's invoice_payment.paid.
    awaits_payment: tuple[str, ...] = ()


@dataclass
class WebhookStores:
    """The repositories handlers use, built once at start-up."""

    ledger: Repositories
    customers: CustomerRepository
    payments: PaymentRepository
    lookup: StripeLookup | None = None  # with STRIPE_API_KEY: asks Stripe, before transactions


@dataclass(frozen=True)
class PaidInvoices:
    """Stripe's answer on a payment: its payment intent and the invoices it paid."""

    payment_intent: str | None
    invoices: tuple[str, ...]


@dataclass(frozen=True)
class Fetched:
    """What an event needed from outside its transaction, read before it started (see
    prefetch.py): handlers use this and never call Stripe themselves."""

    account_id: str | None = None  # the account the event will write, as far as known before
    invoice_lines: tuple[dict[str, Any], ...] | None = None  # every line of the invoice
    paid_invoices: PaidInvoices | None = None  # for a refund or dispute of an unlinked payment
    customer: dict[str, Any] | None = None  # the event's customer, for its metadata.account_id


@dataclass
class EventContext:
    session: Session
    stores: WebhookStores
    catalog: Catalog
    event: dict[str, Any]
    now: datetime
    fetched: Fetched = field(default_factory=Fetched)
    linked_customers: list[str] = field(default_factory=list)
    # Payment intents and charges this event linked to an account: disputes waiting for them
    # are applied after it commits.
    linked_payments: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said in the event log beside the outcome

    def plan_for_price(self, price: str | None, where: str) -> Plan:
        """The catalog's plan for a Stripe price; an unknown one fails the event, readably."""
        plan = self.catalog.plan_for_price(price) if price else None
        if plan is None:
            raise PermanentFailure(
                f"{where}: price {price!r} is not in the plan catalog; add it to PLANS_FILE "
                "and replay the event",
                code="unknown_price",
            )
        return plan

    @property
    def obj(self) -> dict[str, Any]:
        return self.event["data"]["object"]

    @property
    def type(self) -> str:
        return self.event["type"]

    @property
    def id(self) -> str:
        return self.event["id"]

    @property
    def created(self) -> datetime:
        return ts(self.event.get("created")) or self.now

    @property
    def previous(self) -> dict[str, Any]:
        value = self.event["data"].get("previous_attributes")
        return value if isinstance(value, dict) else {}

    @property
    def repos(self) -> Repositories:
        return self.stores.ledger

    async def credit_unit(
        self, account_id: str, state: State, learned: Learned, *, source: str, description: str
    ) -> int:
        """billing.units.credit_unit in this event's transaction, at its time."""
        return await credit_unit(
            self.session,
            self.repos,
            self.catalog,
            account_id,
            state,
            learned,
            now=self.now,
            source=source,
            description=description,
        )
