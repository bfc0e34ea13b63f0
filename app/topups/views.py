"""Stored auto top-up documents as the API shows them."""

from __future__ import annotations

from typing import Any

from app.kit.views import view_of
from app.topups import schemas
from app.topups.settings import FIELDS

Doc = dict[str, Any]


def settings_view(account_id: str, stored: Doc | None, plan: Doc | None) -> schemas.AutoTopup:
    """The account's own settings once it has any; before that, its plan's defaults (off)."""
    source: schemas.SettingsSource
    if stored is not None and "enabled" in stored:
        shown, source = stored, "account"
    elif plan:
        shown, source = plan, "plan"
    else:
        shown, source = {}, "none"
    state = stored or {}
    return schemas.AutoTopup(
        account_id=account_id,
        enabled=bool(shown.get("enabled")),
        **{name: shown.get(name) for name in FIELDS},
        source=source,
        consecutive_failures=state.get("failures", 0),
        disabled_reason=state.get("disabled_reason"),
        cap_reached_month=state.get("cap_reached_month"),
    )


def topup_view(doc: Doc) -> schemas.Topup:
    failure = doc.get("failure") or {}
    return view_of(
        schemas.Topup,
        doc,
        failure_message=failure.get("message"),
        decline_code=failure.get("decline_code"),
        stripe_invoice_id=doc.get("invoice_id"),
        stripe_payment_intent_id=doc.get("payment_intent"),
        attempts=doc.get("attempts", 0),
    )
