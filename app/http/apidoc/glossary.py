"""The API's words: what each field and parameter means, with an example value. One glossary
(by field name, or `Schema.field` where a name means something else there), so the answers of
every router read alike in /docs."""

from __future__ import annotations

from typing import Any

ACCOUNT = "user_42"
T0 = "2026-11-01T12:00:00Z"
T1 = "2030-01-01T00:00:00Z"
GRANT_ID = "gr_6743a1f0c2a4b5d6e7f80912"
ENTRY_ID = "le_6743a1f0c2a4b5d6e7f80913"
RESERVATION_ID = "rsv_6743a1f0c2a4b5d6e7f80914"
ENDPOINT_ID = "we_6743a1f0c2a4b5d6e7f80916"
DELIVERY_ID = "whd_6743a1f0c2a4b5d6e7f80917"

# name -> (description, example)
FIELDS: dict[str, tuple[str, Any]] = {
    "id": ("The object's id.", ENTRY_ID),
    "account_id": ("The product's own account id (user, team or workspace).", ACCOUNT),
    "amount": ("Credits, a positive integer.", 20),
    "balance": (
        "Credits the account holds, held ones included; negative only through a deficit.",
        97,
    ),
    "reserved": ("Credits set aside by live holds.", 20),
    "available": ("Credits that may be spent now: balance - reserved.", 77),
    "deficit": (
        "Credits owed after a clawback or negative adjustment; the next grants pay it off first.",
        0,
    ),
    "subscription_status": (
        "none, trialing, active, past_due, unpaid, paused, canceled or incomplete, from Stripe.",
        "active",
    ),
    "plan": ("The plan's key in the catalog, or null.", "pro"),
    "current_period_end": ("End of the paid period (UTC), or null.", T1),
    "grace_until": ("While past due, spending is allowed until this time (UTC).", None),
    "cancel_at": ("When the subscription ends, if it is set to cancel (UTC).", None),
    "suspended_reason": (
        "Why spending is refused: past_due, unpaid, paused, disputed, or null.",
        None,
    ),
    "stripe_customer_id": ("The linked Stripe customer, or null.", "cus_RZ3kX9mA7bQ2"),
    "stripe_subscription_id": ("The Stripe subscription, or null.", "sub_1QZ3kX9mA7bQ2"),
    "created_at": ("When it was created (UTC).", T0),
    "updated_at": ("When it last changed (UTC).", T0),
    "kind": (
        "What the credits are: subscription, pack, bonus, promotional, compensation, "
        "rollover or correction.",
        "bonus",
    ),
    "remaining": ("Credits of the grant not yet spent (held ones included).", 80),
    "held": ("Credits of the grant set aside by live holds.", 20),
    "expires_at": ("When the credits expire (UTC); null: never.", T1),
    "source": (
        "What made it: api, adjustment, invoice:<id>, checkout:<id>, reservation:<id>, ...",
        "api",
    ),
    "description": ("Free text shown in the ledger, up to 500 characters.", "image 1024px"),
    "metadata": (
        "Up to 50 keys ([A-Za-z0-9_-]{1,40}) of strings (up to 500 characters), "
        "integers, booleans or null.",
        {"feature": "image", "job": "j_81"},
    ),
    "type": ("The kind of entry: grant, debit, capture, expiry, clawback or adjustment.", "debit"),
    "balance_after": ("The account's balance right after this entry.", 97),
    "grants": ("How much it took from (negative) or gave to (positive) each grant.", None),
    "grant_id": ("The grant.", GRANT_ID),
    "idempotency_key": ("The Idempotency-Key of the request that made it, or null.", "gen-1"),
    "actor": ("Who made it: the API key's name, user:<account>, or stripe.", "gen-worker"),
    "data": ("The objects of this page.", None),
    "has_more": ("Whether another page follows.", False),
    "next_cursor": ("Pass as starting_after to get the next page; null on the last.", None),
    "entry": ("The ledger entry it wrote.", None),
    "account": ("The account right after it.", None),
    "reservation": ("The hold.", None),
    "captured": ("Credits the capture spent (0 until then).", 0),
    "status": ("held, captured, released or expired.", "held"),
    "ttl_seconds": (
        "How long the hold lives, 1 to 86400 seconds; when it runs out the credits go back.",
        600,
    ),
    "allowed": ("Whether the account may spend `cost` credits now.", True),
    "reason": (
        "ok, or why not: insufficient_credits, past_due, unpaid, paused, disputed or "
        "negative_balance.",
        "ok",
    ),
    "created": ("When Stripe created the event (UTC).", T0),
    "api_version": ("The Stripe API version of the payload.", "2026-10-28.endive"),
    "customer_id": ("The Stripe customer of the event, or null.", "cus_RZ3kX9mA7bQ2"),
    "error": ("Why processing failed, or null.", None),
    "note": ("Something worth knowing about how it was applied, or null.", None),
    "attempts": ("How many times it was processed.", 1),
    "received_at": ("When it first arrived (UTC).", T0),
    "processed_at": ("When it was last processed (UTC), or null.", T0),
    "account_seq": ("The event's number within its account: 1, 2, 3 ...", 7),
    "seq": ("The entry's number within its account: 1, 2, 3 ... without gaps, in commit order.", 7),
    "at": ("The time asked about (UTC).", T0),
    "as_of_seq": ("The seq of the last entry at or before `at` (0: none yet).", 7),
    "ok": ("Whether every invariant holds.", True),
    "accounts_checked": ("How many accounts were checked.", 1),
    "problems": ("Each invariant that does not hold, with the account and what differs.", None),
    "invariant": (
        "The invariant that does not hold, e.g. balance_equals_sum_of_entries.",
        "balance_equals_sum_of_entries",
    ),
    "detail": ("What differs, in numbers.", "balance 97, sum of entries 100"),
    "from": ("Start of the window (UTC, included).", T0),
    "to": ("End of the window (UTC, excluded).", T1),
    "group_by": ("The bucket size: day, week or month (UTC).", "day"),
    "metadata_key": ("The metadata key the credits are split by, or null.", "feature"),
    "totals": ("The sums over the whole window.", None),
    "start": ("Start of the bucket (UTC, included).", T0),
    "end": ("End of the bucket (UTC, excluded).", T1),
    "credits": ("Credits spent (debits and captures).", 42),
    "operations": ("How many debits and captures spent them.", 14),
    "groups": ("The same split by the value of metadata_key.", None),
    "url": (
        "Where deliveries are POSTed: https:// (http:// in development only).",
        "https://app.example.com/credit-events",
    ),
    "event_types": ("Only these event types; null or empty: every type.", ["balance.low"]),
    "disabled": ("Whether deliveries are paused (by the API, or after 5 days of failures).", False),
    "disabled_reason": ("Why it is disabled, or null.", None),
    "secret": (
        "The signing secret (whsec_...), shown only when created or rotated.",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ),
    "endpoint_id": ("The webhook endpoint.", ENDPOINT_ID),
    "event_id": ("The outgoing event (its webhook-id).", "evt_6743a1f0c2a4b5d6e7f80915"),
    "event_type": ("The event's type.", "balance.low"),
    "next_attempt_at": ("When it is tried next (UTC), or null.", T0),
    "last_attempt": ("The latest attempt, or null.", None),
    "log": ("The last 20 attempts, oldest first.", None),
    "status_code": ("The receiver's HTTP status, or null when none came.", 500),
    "duration_ms": ("How long the attempt took, in milliseconds.", 120),
    "low_balance_threshold": (
        "Below this many available credits a balance.low event is recorded; null: no alert.",
        50,
    ),
    "meter": (
        "A meter of the rate card (GET /v1/rates), e.g. image.1024px or llm.gpt-x.input_tokens.",
        "image.1024px",
    ),
    "quantity": ("Units of the meter used: a whole number, 1 to 10^9.", 2),
    "occurred_at": (
        "When the usage happened (UTC; default: now); it picks the price in effect then. At "
        "most 31 days ago and 5 minutes ahead.",
        T0,
    ),
    "usage": (
        "For usage named by meter: the meter, quantity and time, and the price it was "
        "charged at (rate version, unit price, plan); null otherwise.",
        None,
    ),
    "rate_version": ("The number of the meter's price version used: 1, 2 ... in card order.", 1),
    "effective_from": ("When this price version applies from (UTC).", T0),
    "unit_price": ("credits for every `per` units.", {"credits": 3, "per": 1}),
    "per": ("The block of units `credits` is the price of (1: per unit).", 1000),
    "cost": ("The credits the operation would cost now.", 6),
    "rounding": (
        "How a fraction of a credit is rounded, once, on the running total of an account's "
        "usage of the meter: up, down or nearest (half up).",
        "up",
    ),
    "unit": ("What one unit of the meter is, for people.", "image"),
    "versions": ("The meter's price versions in effect now and scheduled, oldest first.", None),
    "plans": ("Prices for the accounts of these plans, by plan key.", {"pro": {"credits": 2}}),
    "scheduled": ("The next price version of this meter for this plan, or null.", None),
    "records": ("Up to 1,000 usage records, each answered on its own.", None),
    "results": ("One answer per record, in the order of the records.", None),
    "index": ("The record's position in the batch, from 0.", 0),
    "replayed": ("Whether this is the first answer again (same key, same record).", False),
    "problem": ("Why the record was refused (problem+json fields), or null.", None),
    "counts": ("How many records got each status.", {"201": 998, "402": 2}),
    "by_meter": ("Whether the credits are split by meter.", False),
    "version": ("The version's number: 1, 2 ... in the card's order.", 2),
}

# Where a name means something else in one schema.
BY_SCHEMA: dict[str, tuple[str, Any]] = {
    "CaptureResult.account": (
        "The account right after the capture entry (credits the hold "
        "gives back to grants that expired meanwhile then expire in an "
        "expiry entry).",
        None,
    ),
    "Account.id": ("The account id (the product's own).", ACCOUNT),
    "Account.name": ("The account's name, as the product set it, or null.", "Acme Studio"),
    "Account.email": (
        "The account's email in lower case: set by PATCH, or the last one Stripe sent.",
        "billing@acme.example",
    ),
    "Account.metadata": ("The product's own keys and values for the account.", {"tier": "gold"}),
    "AccountUpdate.name": ("The account's name, 1-200 characters; null clears it.", "Acme Studio"),
    "AccountUpdate.email": (
        "An email address, up to 254 characters; null clears it.",
        "billing@acme.example",
    ),
    "AccountUpdate.metadata": (
        "Replaces the whole map (up to 50 keys of strings, integers, booleans); null or {} "
        "clears it.",
        {"tier": "gold"},
    ),
    "Grant.id": ("The grant's id.", GRANT_ID),
    "Grant.amount": ("Credits the grant gave.", 100),
    "Grant.source": ("What made it: api, invoice:<id>, checkout:<id>, ...", "api"),
    "GrantPart.amount": ("Credits taken from (negative) or given to (positive) this grant.", -3),
    "GrantPart.kind": ("The grant's kind.", "bonus"),
    "GrantCreate.kind": ("bonus, promotional or compensation.", "bonus"),
    "GrantCreate.amount": ("Credits to grant, 1 to 10^12.", 100),
    "GrantCreate.description": (
        "Required: why the credits are given (shown in the ledger).",
        "welcome",
    ),
    "GrantCreate.expires_at": (
        "When the credits expire (UTC, with a timezone); omit for never.",
        T1,
    ),
    "Grant.status": (
        "live, expired (its time came, or its subscription ended) or voided (POST "
        "/v1/grants/{grant_id}/void).",
        "live",
    ),
    "GrantVoid.reason": (
        "Required: why the rest of the grant is voided (shown in the ledger).",
        "duplicate promo",
    ),
    "GrantUpdate.expires_at": (
        "Required: the new expiry (UTC, with a timezone, in the future), or null for never.",
        T1,
    ),
    "GrantUpdate.reason": ("Why the expiry moves (kept with the grant's changes).", "goodwill"),
    "GrantVoided.entry": (
        "The expiry entry of the credits voided; null when none were free (those a hold has "
        "set aside expire when it releases them).",
        None,
    ),
    "GrantVoided.grant": ("The grant after the void.", None),
    "GrantWithAccount.grant": ("The grant after the change.", None),
    "LedgerEntry.id": ("The entry's id; entries sort by it, newest first.", ENTRY_ID),
    "LedgerEntry.amount": ("Signed credits: positive adds, negative takes away.", -3),
    "LedgerEntry.source": (
        "What made it: api, adjustment, invoice:<id>, reservation:<id>, ...",
        "api",
    ),
    "DebitCreate.amount": (
        "Credits to spend, 1 to 10^12; or leave it out and name a meter and a quantity.",
        3,
    ),
    "ReservationCreate.amount": (
        "Credits to hold, 1 to 10^12; or leave it out and name a meter and a quantity.",
        20,
    ),
    "CaptureCreate.amount": (
        "Credits to spend, at most the hold; omit to spend all of it. The rest is released.",
        12,
    ),
    "AdjustmentCreate.amount": (
        "Signed credits, not zero: positive adds, negative takes "
        "away (a deficit if they are not there).",
        -5,
    ),
    "AdjustmentCreate.reason": ("Required: why (shown in the ledger).", "refund of job j_81"),
    "Reservation.id": ("The hold's id.", RESERVATION_ID),
    "Reservation.amount": ("Credits held.", 20),
    "Reservation.expires_at": ("When the hold runs out and its credits go back (UTC).", T1),
    "AccessDecision.available": ("Credits that may be spent now.", 77),
    "AccessDecision.cost": ("The credits asked about: `cost`, or the meter's price now.", 6),
    "UnitPrice.credits": ("Credits for every `per` units.", 3),
    "RateVersionView.credits": ("Credits for every `per` units (plans not listed).", 3),
    "RateVersionView.status": (
        "current (in effect now) or scheduled (from effective_from on).",
        "current",
    ),
    "MeterRates.name": ("The meter's name for people.", "Image, 1024 px"),
    "AccountRate.name": ("The meter's name for people.", "Image, 1024 px"),
    "AccountRate.unit_price": ("What the account pays now: credits for every `per` units.", None),
    "AccountRate.rate_version": ("The version in effect now.", 1),
    "AccountRate.effective_from": ("When the price in effect now started (UTC).", T0),
    "AccountRates.data": ("One price per meter priced by now.", None),
    "RateCardView.data": ("Every meter of the card.", None),
    "RateCardView.at": ("The time the card is read at (UTC): what is current then.", T0),
    "AccountRates.at": ("The time of the prices (UTC).", T0),
    "MeteredUsage.plan": ("The account's plan the price was chosen for, or null.", "pro"),
    "DebitCreate.meter": (
        "Instead of an amount: the meter of the usage (GET /v1/rates), with its quantity.",
        "image.1024px",
    ),
    "WebhookAnswer.status": (
        "What became of the event: processed, duplicate, ignored, parked or failed.",
        "processed",
    ),
    "WebhookEvent.id": ("Stripe's event id.", "evt_1QZ3kX9mA7bQ2"),
    "WebhookEvent.type": ("Stripe's event type.", "invoice.paid"),
    "WebhookEvent.status": (
        "received, processed, duplicate, ignored, parked or failed.",
        "processed",
    ),
    "WebhookEvent.account_id": ("The account it applied to, or null.", ACCOUNT),
    "Event.id": ("The event's id.", "evt_6743a1f0c2a4b5d6e7f80915"),
    "Event.type": (
        "What happened: credits.granted, balance.low, access.suspended, ...",
        "balance.low",
    ),
    "Event.data": ("What the event says (its fields depend on the type).", {"available": 12}),
    "Endpoint.id": ("The endpoint's id.", ENDPOINT_ID),
    "EndpointWithSecret.id": ("The endpoint's id.", ENDPOINT_ID),
    "Endpoint.description": ("Free text about the endpoint, or null.", "billing emails"),
    "EndpointWithSecret.description": ("Free text about the endpoint, or null.", "billing emails"),
    "EndpointCreate.description": (
        "Free text about the endpoint, up to 500 characters.",
        "billing emails",
    ),
    "EndpointUpdate.description": (
        "Free text about the endpoint, up to 500 characters.",
        "billing emails",
    ),
    "Delivery.id": ("The delivery's id.", DELIVERY_ID),
    "Delivery.status": (
        "pending (will be tried), succeeded or failed (gave up, or its "
        "endpoint is gone or disabled).",
        "pending",
    ),
    "Delivery.attempts": ("How many times it was sent.", 2),
    "Attempt.error": ("Why it failed without an answer (timeout, connection), or null.", None),
    "Attempt.body": ("The first 1 KiB of the receiver's answer, or null.", "ok"),
    "Alerts.source": ("Where the threshold comes from: account, plan, default or off.", "account"),
    # Auto top-up: the settings (AutoTopup, AutoTopupUpdate) and the top-ups (Topup).
    **{
        f"{schema}.{name}": words
        for schema in ("AutoTopup", "AutoTopupUpdate")
        for name, words in {
            "enabled": ("Whether a fall below the threshold buys credits.", True),
            "threshold": ("Buy when `available` falls below this many credits.", 100),
            "pack": ("The catalog's pack to buy (its first Stripe price is charged).", "boost_500"),
            "quantity": ("Packs per purchase (1-100); null with target_balance.", 1),
            "target_balance": (
                "Instead of a quantity: whole packs up to at least this `available`.",
                None,
            ),
            "monthly_cap_packs": ("At most this many packs per calendar month (UTC).", 5),
            "monthly_cap_amount": (
                "Or at most this much money per calendar month (UTC), in the price's "
                "currency's minor units (cents).",
                None,
            ),
            "payment_method": (
                "The customer's payment method to charge; null: the customer's default for "
                "invoices.",
                None,
            ),
        }.items()
    },
    "AutoTopup.source": (
        "account (its own settings), plan (the plan's defaults, not yet saved) or none.",
        "account",
    ),
    "AutoTopup.consecutive_failures": ("Top-ups failed in a row (3 turn it off).", 0),
    "AutoTopup.disabled_reason": ("Why it turned itself off, or null.", None),
    "AutoTopup.cap_reached_month": (
        "The month (YYYY-MM, UTC) whose cap was reached: nothing more is bought in it.",
        None,
    ),
    "Topup.id": ("The top-up's id.", "tu_6743a1f0c2a4b5d6e7f80918"),
    "Topup.status": (
        "pending (recorded), processing (being bought), succeeded, failed or canceled.",
        "succeeded",
    ),
    "Topup.reason": (
        "Why it failed (Stripe's code: card_declined, authentication_required, "
        "stripe_unreachable...) or was canceled (cap_reached, disabled, no_customer); or null.",
        None,
    ),
    "Topup.failure_message": ("Stripe's message for a failure, or null.", None),
    "Topup.decline_code": ("Stripe's decline code (insufficient_funds...), or null.", None),
    "Topup.pack": ("The pack bought.", "boost_500"),
    "Topup.quantity": ("Packs bought.", 1),
    "Topup.credits": ("Credits it grants when paid.", 500),
    "Topup.amount": ("What Stripe charged, in minor units (cents), once known.", 1000),
    "Topup.currency": ("The charge's currency.", "usd"),
    "Topup.stripe_invoice_id": ("The Stripe invoice (the customer's receipt).", "in_1QZ3kX9"),
    "Topup.stripe_payment_intent_id": ("The payment of the invoice.", "pi_1QZ3kX9"),
    "Topup.attempts": ("Calls to Stripe that got no answer, or the failed one.", 0),
    "Topup.trigger": ("The balance move that asked for it.", None),
    "Topup.completed_at": ("When it succeeded, failed or was canceled (UTC).", T0),
    "TopupTrigger.available_before": ("`available` before the move.", 120),
    "TopupTrigger.available_after": ("`available` after the move, below the threshold.", 90),
    "TopupTrigger.threshold": ("The threshold it fell below.", 100),
}

PARAMETERS: dict[str, str] = {
    "account_id": "The product's own account id: 1-128 of A-Z a-z 0-9 _ . : -",
    "reservation_id": "The hold's id (rsv_...).",
    "grant_id": "The grant's id (gr_...).",
    "event_id": "Stripe's event id (evt_...).",
    "Idempotency-Key": "1-255 printable ASCII characters, one per logical operation: a retry "
    "with the same key and body gets the first answer "
    "(Idempotent-Replayed: true) and changes nothing.",
    "Stripe-Signature": "Stripe's signature of the raw body.",
    "limit": "How many to return, 1-100.",
    "starting_after": "The next_cursor of the previous page.",
    "type": "Only this type.",
    "status": "Only this status.",
    "created_gte": "Only those created at or after this time (ISO 8601).",
    "created_lt": "Only those created before this time (ISO 8601).",
    "endpoint_id": "The webhook endpoint's id (we_...).",
    "delivery_id": "The delivery's id (whd_...).",
    "cost": "The credits the operation would cost (0 to 10^12).",
    "subscription_status": "Only accounts in this subscription status.",
    "meter": "A meter of the rate card: the cost is what `quantity` of it would be charged now.",
    "by_meter": "Split the credits by meter, with the quantity of each (not with metadata_key).",
    "quantity": "Units of `meter` (1 to 10^9; default 1).",
    "from": "Start of the window (ISO 8601, included).",
    "to": "End of the window (ISO 8601, excluded).",
    "group_by": "Bucket size: day, week or month (UTC).",
    "metadata_key": "Split the credits by the value of this metadata key (e.g. feature).",
    "at": "A time (ISO 8601): the balance right after the last entry created at or before it.",
}


def field_words(schema: str, name: str) -> tuple[str, Any] | None:
    return BY_SCHEMA.get(f"{schema}.{name}") or FIELDS.get(name)
