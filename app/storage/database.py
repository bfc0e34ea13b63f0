"""The MongoDB client (replica set or embedded engine) and the one transaction helper."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import parse_qs

import pymongo
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.errors import CollectionInvalid, OperationFailure
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from app.storage.calls import COMMIT, CallCounter, CountedCollection
from app.storage.collection import Collection, ResultCursor

log = logging.getLogger("app.db")

T = TypeVar("T")
Session = Any  # pymongo's AsyncClientSession, or the embedded engine's session
Listener = Callable[[Session, list[Any]], Awaitable[None]]


ACCOUNTS = "accounts"
GRANTS = "grants"
LEDGER = "ledger_entries"
RESERVATIONS = "reservations"
IDEMPOTENCY = "idempotency_keys"
STRIPE_EVENTS = "stripe_events"
CUSTOMERS = "stripe_customers"
PAYMENTS = "stripe_payments"
EVENTS = "events"
EVENT_STREAMS = "event_streams"
ENDPOINTS = "webhook_endpoints"
DELIVERIES = "webhook_deliveries"
MIGRATIONS = "migrations"
CONSOLE_SESSIONS = "console_sessions"
TOPUPS = "topups"
# One document: registrations touch it, so two at once conflict and the cap stays exact.
ENDPOINT_REGISTRY = "webhook_endpoint_registry"

_unique_key = {"idempotency_key": {"$type": "string"}}


def _index(*keys: str, **options: Any) -> IndexModel:
    """An index by its keys in order, "-key" for a descending one."""
    return IndexModel(
        [(k.removeprefix("-"), DESCENDING if k.startswith("-") else ASCENDING) for k in keys],
        **options,
    )


def _account_key_index() -> IndexModel:
    """An account's Idempotency-Keys, unique (entries and holds): partial on string keys."""
    return _index(
        "account_id",
        "idempotency_key",
        unique=True,
        partialFilterExpression=_unique_key,
        name="account_idempotency_key",
    )


# Every index of the service, in one place; created at start-up.
INDEXES: dict[str, list[IndexModel]] = {
    GRANTS: [
        # Spending order of an account's live grants (the sort, to its last key: no sort in
        # memory), and the lazy-expiry scan.
        _index(
            "account_id",
            "expired",
            "never_expires",
            "expires_at",
            "created_at",
            "_id",
            name="spending_order",
        ),
        # The periodic sweep: grants past their expiry that are not yet expired, in batches
        # by (expires_at, _id).
        _index("expired", "expires_at", "_id", name="expiry_sweep"),
        # Outgoing events: grants about to expire, not yet noticed (credits.expiring).
        _index("expired", "expiry_noticed_at", "expires_at", name="expiry_notice"),
    ],
    LEDGER: [
        _account_key_index(),
        # An account's ledger in its order (seq 1, 2, 3...: unique, so never numbered twice;
        # partial, so entries written before seq existed do not collide until numbered).
        _index(
            "account_id",
            "seq",
            unique=True,
            partialFilterExpression={"seq": {"$gt": 0}},
            name="account_newest",
        ),
        _index("account_id", "type", "seq", name="account_type_newest"),
        # The balance at a time: the last entry created at or before it; the timeline (read
        # backwards).
        _index("account_id", "created_at", "seq", name="account_created"),
        # Numbering a ledger written before seq existed (storage/migrations/numbering.py): a
        # window of the entries after the last one read, in the order they were written.
        _index("account_id", "created_at", "_id", name="account_created_id"),
        # Usage: an account's debits and captures in a time range.
        _index("account_id", "type", "created_at", name="account_type_created"),
    ],
    RESERVATIONS: [
        _account_key_index(),
        # Lazy expiry of an account's holds and the periodic sweep.
        _index("account_id", "status", "expires_at", name="account_status_expiry"),
        _index("status", "expires_at", "_id", name="expiry_sweep"),
        # An account's holds newest first (all, or by status), and the timeline.
        _index("account_id", "-_id", name="account_newest"),
        _index("account_id", "status", "-_id", name="account_status_newest"),
        _index("account_id", "-created_at", "-_id", name="account_timeline"),
    ],
    IDEMPOTENCY: [
        # _id is "<account> <key>": unique by construction, and kept for good. Retention: the
        # answers still stored, oldest first (dropping one takes it out of this index).
        _index(
            "created_at",
            name="answer_retention",
            partialFilterExpression={"body": {"$exists": True}},
        ),
    ],
    STRIPE_EVENTS: [
        # The log newest first (seq is an ObjectId string taken at receipt), and its filters.
        _index("-seq", name="newest"),
        _index("status", "-seq", name="status_newest"),
        _index("type", "-seq", name="type_newest"),
        # One account's events (the log's account_id filter), and its timeline.
        _index("account_id", "-seq", name="account_newest"),
        # An account's failed and parked events (its console page).
        _index("account_id", "status", "-seq", name="account_status_newest"),
        _index("account_id", "-received_at", "-_id", name="account_timeline"),
        # Parked events waiting for their customer to be linked, oldest first.
        _index("status", "customer_id", "created", "seq", name="parked_customer"),
        # Disputes ignored until their payment (intent or charge) is linked to an account.
        _index("status", "awaits_payment", "created", "seq", name="awaiting_payment"),
        # Outgoing events (stripe_event.failed): failed events not yet alerted, and events
        # parked too long not yet alerted (each flag its own index: the parked query through
        # the first one read every parked event ever alerted, every minute).
        _index("status", "alerted_at", "received_at", name="outgoing_alerts"),
        _index("status", "parked_alerted_at", "received_at", name="parked_alerts"),
        # Retention (STRIPE_EVENT_RETENTION_DAYS).
        _index("received_at", name="retention"),
    ],
    # _id is the Stripe customer id; an account may have several customers.
    CUSTOMERS: [],
    ACCOUNTS: [
        # Outgoing events: accounts whose grace period has ended (access.suspended), paged
        # by (grace_until, _id).
        _index("subscription_status", "grace_until", "_id", name="grace_ended"),
        # The sweep: due months of yearly plans with monthly credits.
        _index("allocation.next_at", sparse=True, name="allocation_due"),
        # Account search (each branch of q ends with _id, so pages merge in id order), and
        # the status filter.
        _index("stripe_customer_id", "_id", name="customer"),
        _index("email", "_id", name="email"),
        _index("search_terms", "_id", name="search_terms"),
        _index("subscription_status", "_id", name="status_id"),
        # Accounts whose balance alert is on (the account list's low_balance filter), in id
        # order: the alert flags live on the account, which every balance move returns.
        _index("low_fired", "_id", name="low_fired"),
        _index("depleted_fired", "_id", name="depleted_fired"),
    ],
    MIGRATIONS: [],  # _id names a one-time data change that is done
    TOPUPS: [
        # One top-up per account and round: a crossing upserts its round's top-up, so while
        # one is open (the round moves on only when it ends) further crossings record nothing.
        _index("account_id", "round", unique=True, name="account_round"),
        # The job's claim: the next due open top-up (its lease is next_attempt_at).
        _index("status", "next_attempt_at", name="due"),
        # An account's top-ups newest first (its list, the console), and the timeline.
        _index("account_id", "-_id", name="account_newest"),
        _index("account_id", "-created_at", "-_id", name="account_timeline"),
        # The monthly cap: an account's succeeded top-ups of a calendar month.
        _index("account_id", "month", "status", name="account_month"),
    ],
    PAYMENTS: [
        # _id is a pack's payment intent (or charge), or a subscription invoice's id whose
        # payment is linked by these two.
        _index("charge_id", name="charge", sparse=True),
        _index("payment_intent", name="payment_intent", sparse=True),
    ],
    EVENTS: [
        # The outbox. An account's stream, numbered without gaps, and its pull-list filters.
        _index("account_id", "account_seq", unique=True, name="account_seq"),
        _index("account_id", "type", "account_seq", name="account_type_seq"),
        _index("type", "_id", name="type_oldest"),
        # What the dispatcher has not fanned out yet; retention.
        _index("dispatched", "_id", name="undispatched"),
        _index("created_at", name="retention"),
        # An account's timeline, newest first.
        _index("account_id", "-created_at", "-_id", name="account_timeline"),
    ],
    # _id is the account id: its last account_seq and the reason access was last suspended.
    EVENT_STREAMS: [],
    ENDPOINTS: [_index("disabled", name="enabled")],
    ENDPOINT_REGISTRY: [],
    # _id is the SHA-256 of a console session's id; retention removes ended ones.
    CONSOLE_SESSIONS: [_index("ends_at", name="retention")],
    DELIVERIES: [
        _index("event_id", "endpoint_id", unique=True, name="event_endpoint"),
        # The dispatcher's claim: the next due pending delivery.
        _index("status", "next_attempt_at", name="due"),
        _index("endpoint_id", "-_id", name="endpoint_newest"),
        _index("endpoint_id", "status", "-_id", name="endpoint_status_newest"),
        # The oldest undelivered event's age (metrics); retention.
        _index("status", "event_created_at", name="oldest_pending"),
        _index("created_at", name="retention"),
    ],
}

# Indexes an older version created that must go (dropped at start-up): the customer link was
# unique per account, which refused an account's second customer; parked_payment is
# awaiting_payment's first name.
RETIRED_INDEXES: dict[str, tuple[str, ...]] = {
    CUSTOMERS: ("account_unique",),
    STRIPE_EVENTS: ("parked_payment",),
}
# What start-up compares of an existing index with its declaration, beyond its keys.
INDEX_OPTIONS = ("unique", "sparse", "partialFilterExpression")
NAMESPACE_EXISTS = 48  # create_collection: another instance created it first
INDEX_NOT_FOUND = 27  # drop_index: another instance dropped it first

TRANSIENT = "TransientTransactionError"

# Every call to MongoDB is bounded; each may be set in MONGODB_URI instead, which wins.
CLIENT_TIMEOUTS_MS = {
    # Waiting for a primary outlasts an election (usually under 12 s): a failover is a slow
    # answer, not an error.
    "serverSelectionTimeoutMS": 15_000,
    "connectTimeoutMS": 5_000,
    # Each operation as a whole (pymongo's client-side timeout): server selection, the
    # round trips, a transaction with its retries. Past it: 503 database_unavailable.
    "timeoutMS": 20_000,
}
# ensure_indexes at start-up: an index built on a large existing collection takes longer.
INDEX_BUILD_SECONDS = 600

MAJORITY_WRITE = WriteConcern("majority")
MAJORITY_READ = ReadConcern("majority")


@dataclass
class UnitOfWork:
    """One run of a transaction's work: its session, and the facts its writes noted for the
    listeners (the outbox), handed to them at its end inside the same transaction."""

    session: Session
    facts: list[Any] = field(default_factory=list)


class Database:
    """Owns the client; `transaction` is the only way a unit of work is run."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.db = client[name]
        # The embedded engine (dev and tests only) answers as a client of its own.
        # (`is True`: on a pymongo client, any attribute is a database of that name.)
        self.embedded: bool = getattr(client, "embedded", False) is True
        self.engine: Any = self.db.engine if self.embedded else None
        # Every collection call, by operation and collection (off unless turned on).
        self.calls = CallCounter()
        self._counted: dict[str, Collection] = {}
        # Called at the end of every unit of work, inside its transaction, with what it noted:
        # the outgoing events' outbox is written in the same transaction as its cause.
        self.listeners: list[Listener] = []
        # The units of work running now, by their session: where a write notes its facts.
        self._units: dict[int, UnitOfWork] = {}
        # Told of each re-run of a unit of work, with the error label that caused it (metrics).
        self.rerun_listeners: list[Callable[[str], None]] = []

    def __getitem__(self, collection: str) -> Collection:
        if collection not in self._counted:
            # Either engine's collection, counted: it answers the Collection surface.
            counted = CountedCollection(self.db[collection], collection, self.calls)
            self._counted[collection] = cast(Collection, counted)
        return self._counted[collection]

    async def transaction(self, work: Callable[[Session], Awaitable[T]]) -> T:
        """Run `work(session)` in one multi-document transaction: all of it commits or none
        of it, and a transient error re-runs the whole of `work` (so it must not keep state
        between runs)."""
        work = self._counting_reruns(self._with_listeners(work))
        async with self.client.start_session() as session:
            result = await session.with_transaction(
                work, read_concern=MAJORITY_READ, write_concern=MAJORITY_WRITE
            )
        self.calls.add(*COMMIT)  # its own round trip (the first statement starts the transaction)
        return result

    def _counting_reruns(
        self, work: Callable[[Session], Awaitable[T]]
    ) -> Callable[[Session], Awaitable[T]]:
        """with_transaction runs the callback again only for an error labelled
        TransientTransactionError (raised by the callback or by its commit): each run after
        the first is one re-run of that label."""
        runs = 0

        async def unit(session: Session) -> T:
            nonlocal runs
            runs += 1
            if runs > 1:
                for listener in self.rerun_listeners:
                    listener(TRANSIENT)
            return await work(session)

        return unit

    def _with_listeners(
        self, work: Callable[[Session], Awaitable[T]]
    ) -> Callable[[Session], Awaitable[T]]:
        async def run(session: Session) -> T:
            # Fresh on every run: with_transaction may run the work again.
            unit = self._units[id(session)] = UnitOfWork(session)
            try:
                result = await work(session)
                for listener in self.listeners:
                    await listener(session, unit.facts)
                return result
            finally:
                del self._units[id(session)]

        return run

    def note(self, session: Session, fact: Any) -> bool:
        """Note what the unit of work running on `session` did, for the listeners; False
        outside a unit of work (no session, or one no transaction of this database runs)."""
        unit = self._units.get(id(session)) if session is not None else None
        if unit is None:
            return False
        unit.facts.append(fact)
        return True

    async def ensure_indexes(self) -> None:
        """At start-up, outside any transaction: every collection (a transaction may not
        create one on a sharded cluster or before MongoDB 4.4), then every index. Another
        instance starting at the same moment may create or drop the same ones first."""
        # Building an index on a large collection outlasts one operation's limit.
        with pymongo.timeout(INDEX_BUILD_SECONDS):
            existing = set(await self.db.list_collection_names())
            for name in INDEXES.keys() - existing:
                try:
                    await self.db.create_collection(name)
                except (CollectionInvalid, OperationFailure) as exc:
                    if not _another_was_first(exc, NAMESPACE_EXISTS):
                        raise
            for name, models in INDEXES.items():
                if models:
                    await self._create_indexes(self.db[name], name, models)
            for name, retired in RETIRED_INDEXES.items():
                async for index in await list_indexes(self.db[name]):
                    if index["name"] in retired:
                        await _drop_index(self.db[name], index["name"])

    async def _create_indexes(self, col: Any, name: str, models: list[IndexModel]) -> None:
        declared = {m.document["name"]: m.document for m in models}
        async for index in await list_indexes(col):
            wanted = declared.get(index["name"])
            if wanted is None:
                continue
            if list(index["key"].items()) != list(wanted["key"].items()):
                # Keys changed between versions, under the same name: replace it (the new
                # version's queries are planned for the new keys).
                await _drop_index(col, index["name"])
            elif changed := _changed_options(index, wanted):
                raise IndexOptionsChanged(name, index["name"], changed)
        await col.create_indexes(models)

    async def ping(self) -> None:
        await self.db.command("ping")

    async def close(self) -> None:
        await self.client.close()


class IndexOptionsChanged(RuntimeError):
    """An existing index has the declared name and keys but other options (unique, sparse,
    partial filter): start-up stops rather than guess. Rebuild it as docs/scaling.md says."""

    def __init__(self, collection: str, index: str, changed: list[str]) -> None:
        super().__init__(
            f"index {index!r} on {collection!r} exists with other options ({', '.join(changed)})"
            f" than this version declares: drop it (db.{collection}.dropIndex({index!r})) and"
            " start again; start-up creates it as declared"
        )
        self.collection = collection
        self.index = index


def _changed_options(existing: dict, declared: dict) -> list[str]:
    return [
        option
        for option in INDEX_OPTIONS
        if _normal(existing.get(option)) != _normal(declared.get(option))
    ]


def _normal(value: Any) -> Any:
    # A server lists unique/sparse only when true, and returns a partial filter as a SON.
    return None if value is False else (dict(value) if isinstance(value, dict) else value)


async def _drop_index(col: Any, name: str) -> None:
    try:
        await col.drop_index(name)
    except OperationFailure as exc:
        if not _another_was_first(exc, INDEX_NOT_FOUND):
            raise


def _another_was_first(exc: Exception, code: int) -> bool:
    """Whether a start-up step failed only because another instance did it first."""
    return isinstance(exc, CollectionInvalid) or getattr(exc, "code", None) == code


async def list_indexes(col: Any) -> ResultCursor:
    return await col.list_indexes()


def connect(uri: str | None, name: str) -> Database:
    if uri:
        given = {option.lower() for option in parse_qs(uri.partition("?")[2])}
        timeouts: dict[str, Any] = {
            k: v for k, v in CLIENT_TIMEOUTS_MS.items() if k.lower() not in given
        }
        client: Any = AsyncMongoClient(
            uri, tz_aware=True, w="majority", readConcernLevel="majority", **timeouts
        )
        return Database(client, name)
    from app.storage.embedded import EmbeddedClient  # dev only: never with MONGODB_URI set

    log.warning(
        "MONGODB_URI is unset: using the EMBEDDED IN-MEMORY engine. Data is lost when the "
        "process exits. For trying out and tests only."
    )
    return Database(EmbeddedClient(), name)
