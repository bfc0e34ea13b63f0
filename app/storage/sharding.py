"""How the collections are sharded on a cluster (docs/scaling.md, "Step 2"): the shard key of
each per-account collection, the collections that stay unsharded and why, and the reads that go
to every shard by design. tests/storage/test_shard_keys.py checks every call the service makes
against these lists."""

from __future__ import annotations

from app.storage.database import (
    ACCOUNTS,
    CONSOLE_SESSIONS,
    CUSTOMERS,
    DELIVERIES,
    ENDPOINT_REGISTRY,
    ENDPOINTS,
    EVENT_STREAMS,
    EVENTS,
    GRANTS,
    IDEMPOTENCY,
    LEDGER,
    MIGRATIONS,
    PAYMENTS,
    RESERVATIONS,
    STRIPE_EVENTS,
    TOPUPS,
)

# Per-account collections and the field that holds the account id (hashed on a cluster): every
# call on one account's documents names it, so the router sends it to that account's shard.
SHARD_KEYS: dict[str, str] = {
    ACCOUNTS: "_id",
    EVENT_STREAMS: "_id",  # one document per account, its _id the account id
    GRANTS: "account_id",
    LEDGER: "account_id",
    RESERVATIONS: "account_id",
    IDEMPOTENCY: "account_id",
    EVENTS: "account_id",
    TOPUPS: "account_id",
}

# Collections left unsharded (on the cluster's primary shard), and why.
UNSHARDED: dict[str, str] = {
    CUSTOMERS: "unique both ways (a customer id names one account; an account may have several"
    " customers), and read by customer id when a Stripe event arrives, before its account is"
    " known",
    PAYMENTS: "read by payment intent or charge id when a refund or dispute names only that",
    STRIPE_EVENTS: "keyed by Stripe's event id and read by it on delivery, before the account is"
    " known; parked events have no account",
    ENDPOINTS: "an endpoint receives every account's events",
    ENDPOINT_REGISTRY: "one document",
    DELIVERIES: "the dispatcher claims the next due delivery across every account",
    MIGRATIONS: "a few documents, read by _id at start-up",
    CONSOLE_SESSIONS: "read by _id (a session's hash), no account",
}

# Reads and batched writes across accounts by design (the sweeps, the dispatcher, retention,
# the account directory, the event list of every account): the router asks every shard, each
# answering from the index named (its first field in the filter; "_id_" is the `_id` index).
CROSS_ACCOUNT: dict[str, tuple[str, ...]] = {
    ACCOUNTS: (
        "_id_",
        "grace_ended",
        "allocation_due",
        "customer",
        "email",
        "search_terms",
        "status_id",
        "low_fired",
        "depleted_fired",
    ),
    GRANTS: ("expiry_sweep", "expiry_notice"),
    RESERVATIONS: ("expiry_sweep",),
    IDEMPOTENCY: ("answer_retention",),
    EVENTS: ("_id_", "undispatched", "retention", "type_oldest"),
    TOPUPS: ("due",),  # the top-up job claims the next due one of any account
}

# A request that names a hold, a grant or an event but not its account (capture, release, a
# grant's change, a page of every account's events after an event) finds it by one read by
# `_id` outside any transaction, which every shard answers from its `_id` index; every call
# after it names the account.
LOOKUP_BY_ID: frozenset[str] = frozenset({GRANTS, RESERVATIONS, EVENTS})
