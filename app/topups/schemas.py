"""API shapes of auto top-up: the account's settings and its top-ups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.ledger.schemas import MAX_CREDITS, WholeNumber

TopupStatus = Literal["pending", "processing", "succeeded", "failed", "canceled"]
SettingsSource = Literal["account", "plan", "none"]
TOPUP_ID_PATTERN = r"^tu_[0-9a-f]{24}$"
MAX_QUANTITY = 100  # packs in one purchase: a typo must not buy thousands at once
MAX_MONEY = 10**12  # minor units, as Stripe's own amounts

Credits = Annotated[WholeNumber, Field(ge=1, le=MAX_CREDITS)]
PackKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# A Stripe payment method the customer has saved (pm_..., or an older card_/src_ id).
PaymentMethod = Annotated[str, StringConstraints(pattern=r"^(pm|card|src)_[A-Za-z0-9]{1,200}$")]


class AutoTopupUpdate(BaseModel):
    """The account's settings, whole (a PUT); what it leaves out (or sets null) comes from
    the plan's defaults in the catalog."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool
    threshold: Credits | None = None
    pack: PackKey | None = None
    quantity: Annotated[WholeNumber, Field(ge=1, le=MAX_QUANTITY)] | None = None
    target_balance: Credits | None = None
    monthly_cap_packs: Annotated[WholeNumber, Field(ge=1, le=10_000)] | None = None
    monthly_cap_amount: Annotated[WholeNumber, Field(ge=1, le=MAX_MONEY)] | None = None
    payment_method: PaymentMethod | None = None


class AutoTopup(BaseModel):
    account_id: str
    enabled: bool
    threshold: int | None
    pack: str | None
    quantity: int | None
    target_balance: int | None
    monthly_cap_packs: int | None
    monthly_cap_amount: int | None
    payment_method: str | None  # null: the customer's default for invoices
    source: SettingsSource  # the account's own settings, the plan's defaults, or none
    consecutive_failures: int
    disabled_reason: str | None  # why it turned itself off (3 failures in a row)
    cap_reached_month: str | None  # "YYYY-MM" (UTC) whose cap was reached


class TopupTrigger(BaseModel):
    available_before: int
    available_after: int
    threshold: int


class Topup(BaseModel):
    id: str
    account_id: str
    status: TopupStatus
    reason: str | None  # why it was canceled, or Stripe's code of the failure
    failure_message: str | None
    decline_code: str | None
    pack: str | None
    quantity: int | None
    credits: int | None
    amount: int | None  # what Stripe charged, minor units
    currency: str | None
    stripe_invoice_id: str | None
    stripe_payment_intent_id: str | None
    attempts: int
    trigger: TopupTrigger | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class TopupPage(BaseModel):
    data: list[Topup]
    has_more: bool
    next_cursor: str | None
