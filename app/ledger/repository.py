"""The ledger's MongoDB queries: every read and write of accounts, grants, entries and holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.errors import OperationFailure

from app.kit.ids import object_id_hex
from app.ledger.documents import (
    AccountDoc,
    EntryDoc,
    GrantDoc,
    IdempotencyDoc,
    ReservationDoc,
)
from app.ledger.outbox import record_outbox
from app.storage.batches import update_in_batches
from app.storage.database import (
    ACCOUNTS,
    GRANTS,
    IDEMPOTENCY,
    LEDGER,
    RESERVATIONS,
    Database,
    Session,
)
from app.storage.documents import Doc

SPENDING_ORDER = [
    ("never_expires", ASCENDING),
    ("expires_at", ASCENDING),
    ("created_at", ASCENDING),
    ("_id", ASCENDING),
]


ANSWERS_BATCH = 1000  # idempotency answers dropped per call

D = TypeVar("D", covariant=True)

# An account's `next_due_at` when nothing on it can come due (no expiring grant, no hold).
NOTHING_DUE = datetime(9999, 12, 31, tzinfo=UTC)


def _of(account_id: str, doc_id: str) -> Doc:
    """One document of an account's: the account names its shard (app/storage/sharding.py)."""
    return {"_id": doc_id, "account_id": account_id}


def new_id(prefix: str) -> str:
    # ObjectId hex sorts by creation time, so ids double as a stable newest-first cursor.
    return f"{prefix}_{object_id_hex()}"


def known(account: AccountDoc | None, account_id: str) -> AccountDoc:
    """An account this unit of work has read, created or changed already. Accounts are never
    deleted, so None here is a broken invariant, not an unknown account."""
    if account is None:
        raise RuntimeError(f"ledger invariant broken: account {account_id} vanished mid-unit")
    return account


def new_account(account_id: str, now: datetime) -> AccountDoc:
    return {
        "_id": account_id,
        "balance": 0,
        "reserved": 0,
        "deficit": 0,
        "subscription_status": "none",
        "plan": None,
        "current_period_start": None,
        "current_period_end": None,
        "grace_until": None,
        "cancel_at": None,
        "open_disputes": [],
        "stripe_customer_id": None,
        "stripe_subscription_id": None,
        "created_at": now,
        "updated_at": now,
        # Never later than the first deadline of its holds and expiry of its grants: a read or
        # write that finds it ahead knows that nothing is due without looking further.
        "next_due_at": NOTHING_DUE,
        # The ledger's sequence: the last entry's seq (its time, `last_entry_at`, is set by
        # the first entry: see entries.position).
        "seq": 0,
        # Its grants that may still have credits (a superset: the grant itself decides), so
        # that a debit reads them by `_id`.
        "grant_ids": [],
        # Its held reservations (MAX_HELD_RESERVATIONS bounds them in the hold's own write).
        "holds": 0,
    }


def _after_in_spending_order(grant: GrantDoc) -> Doc:
    """Grants that come after `grant` in SPENDING_ORDER: a keyset cursor over the sort."""
    same = {"never_expires": grant["never_expires"], "expires_at": grant.get("expires_at")}
    ties = [
        {**same, "created_at": {"$gt": grant["created_at"]}},
        {**same, "created_at": grant["created_at"], "_id": {"$gt": grant["_id"]}},
    ]
    if grant["never_expires"]:
        return {"$or": ties}
    return {
        "$or": [
            {"never_expires": True},
            {"never_expires": False, "expires_at": {"$gt": grant["expires_at"]}},
            *ties,
        ]
    }


@dataclass(frozen=True)
class AccountChange:
    """What one write of an account changes (AccountRepository.change): the amounts added to
    its balance, reserved credits, deficit and held reservations, under which guard."""

    balance: int = 0
    reserved: int = 0
    deficit: int = 0
    holds: int = 0
    entries: int = 0  # ledger entries the change records, numbered by this write
    guard: Doc | None = None  # a filter on the account the write needs (None: refused)
    nothing_due: bool = False  # refused too when something on the account is due at `now`
    due_by: datetime | None = None  # a new deadline (a hold's, an expiring grant's)
    new_grant: str | None = None  # a grant that may have credits, for the account's list
    noted: bool = True  # False: the caller notes the move itself (a batch notes each request's)
    fields: Doc | None = None  # set in the same write (a metered debit's remainders)
    forget: tuple[str, ...] = ()  # grants used up: off the account's list, in the same write


def account_write(account_id: str, now: datetime, change: AccountChange) -> tuple[Doc, Doc]:
    """The filter and the update of one account change (AccountRepository.change, and
    change_many for a unit of several accounts)."""
    entries = change.entries
    query: Doc = {"_id": account_id, **(change.guard or {})}
    if change.nothing_due:
        query["next_due_at"] = {"$gt": now}
    inc = {
        k: v
        for k, v in (
            ("balance", change.balance),
            ("reserved", change.reserved),
            ("deficit", change.deficit),
            ("seq", entries),
            ("holds", change.holds),
        )
        if v
    }
    update: Doc = {
        **({"$inc": inc} if inc else {}),
        "$set": {**(change.fields or {}), "updated_at": now},
    }
    if change.due_by is not None:
        update["$min"] = {"next_due_at": change.due_by}
    if entries:
        update["$max"] = {"last_entry_at": now}
    if change.new_grant is not None:
        update["$push"] = {"grant_ids": change.new_grant}
    if change.forget:
        update["$pull"] = {"grant_ids": {"$in": list(change.forget)}}
    return query, update


async def all_or_rerun(col: Any, session: Session, updates: list[UpdateOne], what: str) -> None:
    """One bulk_write of guarded updates that must all apply: inside a transaction what was
    just read cannot have changed; if it ever did, the whole unit of work runs again."""
    if not updates:
        return
    result = await col.bulk_write(updates, session=session)
    if result.matched_count != len(updates):
        raise OperationFailure(
            f"{what} changed under the unit of work",
            code=112,
            details={"errorLabels": ["TransientTransactionError"]},
        )


class _OfAccount(Protocol[D]):
    async def find_by_id(self, doc_id: str) -> D | None: ...

    async def get(self, session: Session, account_id: str, doc_id: str) -> D | None: ...


async def of_account(
    repo: _OfAccount[D], session: Session, doc_id: str, account_id: str | None
) -> D | None:
    """A grant or hold by its account when known (else the one read that learns its account:
    the account names the shard)."""
    if account_id is None:
        return await repo.find_by_id(doc_id)
    return await repo.get(session, account_id, doc_id)


class AccountRepository:
    def __init__(self, db: Database) -> None:
        self.db = db  # its units of work take the facts of the outbox
        self.col = db[ACCOUNTS]

    async def get(self, session: Session, account_id: str) -> AccountDoc | None:
        return await self.col.find_one({"_id": account_id}, session=session)

    async def get_many(self, session: Session, account_ids: list[str]) -> dict[str, AccountDoc]:
        """Accounts by id, one call for all of them (a usage batch's unit)."""
        found = self.col.find({"_id": {"$in": account_ids}}, session=session)
        return {doc["_id"]: doc for doc in await found.to_list(None)}

    async def change_many(
        self, session: Session, now: datetime, changes: list[tuple[str, AccountChange]]
    ) -> None:
        """Several accounts' guarded changes in one call; a guard that fails re-runs the unit
        (its caller read them in this unit and knows what they become). Not noted: the caller
        notes each account's move, having the account before and after."""
        await all_or_rerun(
            self.col,
            session,
            [UpdateOne(*account_write(account_id, now, change)) for account_id, change in changes],
            "accounts",
        )

    async def ensure(self, session: Session, account_id: str, now: datetime) -> AccountDoc:
        return await self.col.find_one_and_update(
            {"_id": account_id},
            # The _id comes from the filter; naming it again in $setOnInsert is not portable.
            {"$setOnInsert": {k: v for k, v in new_account(account_id, now).items() if k != "_id"}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    async def mark_stripe_event(self, session: Session, account_id: str, event_id: str) -> None:
        """The first write of a Stripe event's transaction (an account that exists): two events
        of one account then conflict at their first statement, before either did its work,
        rather than at the balance's $inc at the end."""
        await self.col.update_one(
            {"_id": account_id}, {"$set": {"last_stripe_event": event_id}}, session=session
        )

    async def change(
        self, session: Session, account_id: str, now: datetime, change: AccountChange
    ) -> AccountDoc | None:
        """The one way the cached balance moves: an atomic $inc, optionally guarded by a
        filter on the account (None when the guard refuses, or there is no such account). It
        numbers the `entries` ledger entries the change records (see entries.position), in
        the same write: an account's entries are numbered in the order they commit."""
        balance, reserved = change.balance, change.reserved
        query, update = account_write(account_id, now, change)
        after = await self.col.find_one_and_update(
            query,
            update,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if after is not None and balance != reserved and change.noted:
            before = {
                **after,
                "balance": after["balance"] - balance,
                "reserved": after["reserved"] - reserved,
            }
            record_outbox(self.db, session, "balance", account_id, after, before)
        return after

    async def set_next_due(
        self, session: Session, account_id: str, when: datetime, grant_ids: list[str], holds: int
    ) -> None:
        await self.col.update_one(
            {"_id": account_id},
            {"$set": {"next_due_at": when, "grant_ids": grant_ids, "holds": holds}},
            session=session,
        )

    async def forget_grants(self, session: Session, account_id: str, grant_ids: list[str]) -> None:
        await self.col.update_one(
            {"_id": account_id}, {"$pull": {"grant_ids": {"$in": grant_ids}}}, session=session
        )

    async def set_fields(
        self, session: Session, account_id: str, fields: Doc, now: datetime
    ) -> AccountDoc | None:
        return await self._update(
            session,
            account_id,
            {"$set": {**fields, "updated_at": now}},
            lambda doc: {**doc, **fields, "updated_at": now},
        )

    async def open_dispute(
        self, session: Session, account_id: str, dispute_id: str, now: datetime
    ) -> None:
        await self._dispute(session, account_id, dispute_id, now, opened=True)

    async def close_dispute(
        self, session: Session, account_id: str, dispute_id: str, now: datetime
    ) -> None:
        await self._dispute(session, account_id, dispute_id, now, opened=False)

    async def _dispute(
        self, session: Session, account_id: str, dispute_id: str, now: datetime, *, opened: bool
    ) -> None:
        """The account's open disputes with `dispute_id` added (once) or taken out."""
        op = "$addToSet" if opened else "$pull"

        def apply(doc: Doc) -> Doc:
            kept = [d for d in doc.get("open_disputes") or [] if d != dispute_id]
            return {
                **doc,
                "updated_at": now,
                "open_disputes": [*kept, dispute_id] if opened else kept,
            }

        update = {op: {"open_disputes": dispute_id}, "$set": {"updated_at": now}}
        await self._update(session, account_id, update, apply)

    async def _update(
        self, session: Session, account_id: str, update: Doc, apply: Any
    ) -> AccountDoc | None:
        """Change subscription fields; the outbox gets the account before and after."""
        before = await self.col.find_one_and_update(
            {"_id": account_id}, update, return_document=ReturnDocument.BEFORE, session=session
        )
        if before is None:
            return None
        after = apply(before)
        record_outbox(self.db, session, "account", account_id, after, before)
        return after


class GrantRepository:
    def __init__(self, db: Database) -> None:
        self.col = db[GRANTS]

    async def insert(self, session: Session, grant: GrantDoc) -> None:
        await self.col.insert_one(grant, session=session)

    async def get(self, session: Session, account_id: str, grant_id: str) -> GrantDoc | None:
        return await self.col.find_one(_of(account_id, grant_id), session=session)

    async def find_by_id(self, grant_id: str) -> GrantDoc | None:
        """The grant a request names alone, to learn its account: outside any transaction (on
        a sharded cluster every shard answers it from its `_id` index)."""
        return await self.col.find_one({"_id": grant_id})

    async def spendable(
        self,
        session: Session,
        account_id: str,
        now: datetime,
        *,
        grant_ids: list[str] | None = None,
    ) -> list[GrantDoc]:
        """Live grants with free credits, in spending order: by `_id` among `grant_ids` (the
        account's list) when given, else by the account."""
        query = self.spendable_query(account_id, now)
        if grant_ids is not None:
            query["_id"] = {"$in": grant_ids}
        cursor = self.col.find(query, session=session)
        return await cursor.sort(SPENDING_ORDER).to_list(None)

    async def spendable_of(
        self, session: Session, grant_ids: dict[str, list[str]], now: datetime
    ) -> dict[str, list[GrantDoc]]:
        """Each account's live grants with free credits, in spending order, among those its
        list names (`grant_ids` by account): one call for all the accounts."""
        if not any(grant_ids.values()):
            return {}
        cursor = self.col.find(self.spendable_of_query(grant_ids, now), session=session)
        found: dict[str, list[GrantDoc]] = {}
        for grant in await cursor.sort(SPENDING_ORDER).to_list(None):
            found.setdefault(grant["account_id"], []).append(grant)
        return found

    @classmethod
    def spendable_of_query(cls, grant_ids: dict[str, list[str]], now: datetime) -> Doc:
        """By `_id` (its index), with the accounts that name their shards."""
        return {
            **cls.spendable_query("", now),
            "_id": {"$in": [grant_id for listed in grant_ids.values() for grant_id in listed]},
            "account_id": {"$in": list(grant_ids)},
        }

    @staticmethod
    def spendable_query(account_id: str, now: datetime) -> Doc:
        return {
            "account_id": account_id,
            "expired": False,
            "remaining": {"$gt": 0},
            "$or": [{"never_expires": True}, {"expires_at": {"$gt": now}}],
        }

    async def live(
        self, session: Session, account_id: str, *, limit: int, after: GrantDoc | None = None
    ) -> list[GrantDoc]:
        """Up to `limit` + 1 live grants in spending order, those after `after` (a grant)."""
        query: Doc = {
            "account_id": account_id,
            "expired": False,
            "$or": [{"remaining": {"$gt": 0}}, {"held": {"$gt": 0}}],
        }
        if after is not None:
            query = {"$and": [query, _after_in_spending_order(after)]}
        cursor = self.col.find(query, session=session).sort(SPENDING_ORDER).limit(limit + 1)
        return await cursor.to_list(None)

    async def due(
        self, session: Session, account_id: str, now: datetime, limit: int
    ) -> list[GrantDoc]:
        """Up to `limit` grants past their expiry, soonest first (the spending_order index)."""
        cursor = self.col.find(self._due(account_id, now), session=session)
        return await cursor.sort("expires_at", ASCENDING).limit(limit).to_list(None)

    @staticmethod
    def _due(account_id: str, now: datetime) -> Doc:
        return {
            "account_id": account_id,
            "expired": False,
            "never_expires": False,
            "expires_at": {"$lte": now},
        }

    async def next_to_expire(self, session: Session, account_id: str) -> GrantDoc | None:
        """The unexpired grant that expires first (a used-up one too: it expires all the
        same), read from the head of the spending_order index."""
        return await self.col.find_one(
            {"account_id": account_id, "expired": False, "never_expires": False},
            {"expires_at": 1},
            sort=[("expires_at", ASCENDING)],
            session=session,
        )

    async def live_ids(self, session: Session, account_id: str) -> list[str]:
        """The ids of the account's grants that may still have credits, free or held."""
        docs = await self.col.find(
            {
                "account_id": account_id,
                "expired": False,
                "$or": [{"remaining": {"$gt": 0}}, {"held": {"$gt": 0}}],
            },
            {"_id": 1},
            session=session,
        ).to_list(None)
        return [doc["_id"] for doc in docs]

    async def by_kinds(self, session: Session, account_id: str, kinds: list[str]) -> list[GrantDoc]:
        query = {"account_id": account_id, "expired": False, "kind": {"$in": kinds}}
        return await self.col.find(query, session=session).sort(SPENDING_ORDER).to_list(None)

    async def take(
        self, session: Session, account_id: str, takes: list[tuple[str, int]], *, hold: bool
    ) -> None:
        """Take free credits from live grants (into `held` for a hold): one call for all."""
        await self.take_parts(
            session,
            account_id,
            [(grant_id, amount, amount if hold else 0) for grant_id, amount in takes],
        )

    async def take_parts(
        self, session: Session, account_id: str, parts: list[tuple[str, int, int]]
    ) -> None:
        """Take free credits from live grants, `(grant_id, taken, of them held)` per grant:
        one call for all (a batch's debits and holds together)."""
        await self._all_or_rerun(
            session,
            [
                UpdateOne(
                    {**_of(account_id, grant_id), "expired": False, "remaining": {"$gte": taken}},
                    {"$inc": {"remaining": -taken, **({"held": held} if held else {})}},
                )
                for grant_id, taken, held in parts
            ],
        )

    async def take_many(self, session: Session, takes: list[tuple[str, str, int]]) -> None:
        """Debits' free credits from live grants of several accounts, `(account_id, grant_id,
        taken)` each: one call for all."""
        await self._all_or_rerun(
            session,
            [
                UpdateOne(
                    {**_of(account_id, grant_id), "expired": False, "remaining": {"$gte": taken}},
                    {"$inc": {"remaining": -taken}},
                )
                for account_id, grant_id, taken in takes
            ],
        )

    async def settle_live(
        self, session: Session, account_id: str, parts: list[tuple[str, int, int]]
    ) -> int:
        """Resolve the held credits of a hold, `(grant_id, held, freed)` per grant: the freed
        credits go back to the grants still live. Returns how many grants were still live."""
        result = await self.col.bulk_write(
            [
                UpdateOne(
                    {**_of(account_id, grant_id), "expired": False},
                    {"$inc": {"held": -held, "remaining": freed}},
                )
                for grant_id, held, freed in parts
            ],
            session=session,
        )
        return result.matched_count

    async def expired_among(
        self, session: Session, account_id: str, grant_ids: list[str]
    ) -> set[str]:
        query = {"account_id": account_id, "_id": {"$in": grant_ids}, "expired": True}
        docs = await self.col.find(query, {"_id": 1}, session=session).to_list(None)
        return {doc["_id"] for doc in docs}

    async def drop_held(
        self, session: Session, account_id: str, parts: list[tuple[str, int]]
    ) -> None:
        """Held credits of expired grants leave them (they expire with the hold's release)."""
        await self._all_or_rerun(
            session,
            [
                UpdateOne({**_of(account_id, grant_id), "expired": True}, {"$inc": {"held": -held}})
                for grant_id, held in parts
            ],
        )

    async def _all_or_rerun(self, session: Session, updates: list[UpdateOne]) -> None:
        await all_or_rerun(self.col, session, updates, "grants")

    async def mark_expired(
        self, session: Session, grant: GrantDoc, now: datetime, *, fields: Doc | None = None
    ) -> bool:
        """Flip a grant to expired once, recording what it still had (and `fields`: a void's
        who and why)."""
        result = await self.col.update_one(
            {
                **_of(grant["account_id"], grant["_id"]),
                "expired": False,
                "remaining": grant["remaining"],
            },
            {
                "$set": {
                    "expired": True,
                    "expired_at": now,
                    "expired_amount": grant["remaining"],
                    "remaining": 0,
                    **(fields or {}),
                }
            },
            session=session,
        )
        return result.modified_count == 1

    async def set_expiry(
        self,
        session: Session,
        grant: GrantDoc,
        expires_at: datetime | None,
        change: Doc,
    ) -> GrantDoc | None:
        """A live grant's new expiry (None: never), the change kept on the grant; its
        credits.expiring notice is due again for the new date. None: no such live grant."""
        return await self.col.find_one_and_update(
            {**_of(grant["account_id"], grant["_id"]), "expired": False},
            {
                "$set": {
                    "expires_at": expires_at,
                    "never_expires": expires_at is None,
                    "expiry_noticed_at": None,
                },
                "$push": {"expiry_changes": change},
            },
            return_document=ReturnDocument.AFTER,
            session=session,
        )


@dataclass(frozen=True)
class LedgerQuery:
    """Which of an account's entries a page lists: newest first, after `starting_after`."""

    limit: int
    starting_after: str | None = None
    type_: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


class LedgerRepository:
    def __init__(self, db: Database) -> None:
        self.db = db  # its units of work take the facts of the outbox
        self.col = db[LEDGER]

    async def insert(self, session: Session, entry: EntryDoc) -> None:
        await self.col.insert_one(entry, session=session)
        record_outbox(self.db, session, "entry", entry["account_id"], entry)

    async def insert_many(self, session: Session, entries: list[EntryDoc]) -> None:
        """A batch's entries in one call (in their order)."""
        if not entries:
            return None
        if len(entries) == 1:
            return await self.insert(session, entries[0])
        await self.col.insert_many(entries, session=session)
        for entry in entries:
            record_outbox(self.db, session, "entry", entry["account_id"], entry)

    async def by_key(self, session: Session, account_id: str, key: str) -> EntryDoc | None:
        return await self.col.find_one(self.key_query(account_id, key), session=session)

    @staticmethod
    def key_query(account_id: str, key: str) -> Doc:
        # The `$type` repeats the unique index's partial filter: only a query that implies the
        # filter may use a partial index, and the planner does not infer it from an equality.
        return {"account_id": account_id, "idempotency_key": {"$eq": key, "$type": "string"}}

    async def page(self, session: Session, account_id: str, wanted: LedgerQuery) -> list[EntryDoc]:
        # `seq > 0` implies the partial filter of the (account_id, seq) index: it can serve.
        query: Doc = {"account_id": account_id, "seq": {"$gt": 0}}
        if wanted.type_:
            query["type"] = wanted.type_
        if wanted.starting_after:
            anchor = await self.col.find_one(
                {"_id": wanted.starting_after, "account_id": account_id},
                {"seq": 1},
                session=session,
            )
            query["seq"]["$lt"] = anchor["seq"] if anchor else 0
        created: Doc = {}
        if wanted.created_gte:
            created["$gte"] = wanted.created_gte
        if wanted.created_lt:
            created["$lt"] = wanted.created_lt
        if created:
            query["created_at"] = created
        cursor = (
            self.col.find(query, session=session).sort("seq", DESCENDING).limit(wanted.limit + 1)
        )
        return await cursor.to_list(None)

    async def last_at(self, session: Session, account_id: str, at: datetime) -> EntryDoc | None:
        """The account's last entry created at or before `at`."""
        return await self.col.find_one(
            {"account_id": account_id, "created_at": {"$lte": at}},
            sort=[("created_at", DESCENDING), ("seq", DESCENDING)],
            session=session,
        )


class ReservationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db  # its units of work take the facts of the outbox
        self.col = db[RESERVATIONS]

    async def insert(self, session: Session, reservation: ReservationDoc) -> None:
        await self.col.insert_one(reservation, session=session)

    async def insert_many(self, session: Session, reservations: list[ReservationDoc]) -> None:
        if len(reservations) == 1:
            return await self.insert(session, reservations[0])
        await self.col.insert_many(reservations, session=session)

    async def get(
        self, session: Session, account_id: str, reservation_id: str
    ) -> ReservationDoc | None:
        return await self.col.find_one(_of(account_id, reservation_id), session=session)

    async def find_by_id(self, reservation_id: str) -> ReservationDoc | None:
        """The hold a request names alone (capture, release, a read), to learn its account:
        outside any transaction (on a sharded cluster every shard answers it by `_id`)."""
        return await self.col.find_one({"_id": reservation_id})

    async def resolve(
        self,
        session: Session,
        reservation: ReservationDoc,
        status: str,
        captured: int,
        now: datetime,
        *,
        live_at: datetime | None,
        replay: Doc | None = None,
    ) -> ReservationDoc | None:
        """Move a held reservation to its final state once. With `live_at`, only a hold whose
        deadline is still ahead resolves (a capture may not take an expired hold). `replay`
        is the answer to a retry of the request that resolved it (its key and fingerprint)."""
        query: Doc = {**_of(reservation["account_id"], reservation["_id"]), "status": "held"}
        if live_at is not None:
            query["expires_at"] = {"$gt": live_at}
        fields = {"status": status, "captured": captured, "resolved_at": now}
        if replay is not None:  # as an idempotency record: the fingerprint beside the answer
            fields["fingerprint"] = replay["fingerprint"]
            fields["replay"] = {k: v for k, v in replay.items() if k != "fingerprint"}
        done = await self.col.find_one_and_update(
            query,
            {"$set": fields},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if done is not None and status == "expired":
            record_outbox(self.db, session, "reservation", done["account_id"], done)
        return done

    async def due(
        self, session: Session, account_id: str, now: datetime, limit: int
    ) -> list[ReservationDoc]:
        """Up to `limit` held reservations past their deadline, soonest first."""
        cursor = self.col.find(self._due(account_id, now), session=session)
        return await cursor.sort("expires_at", ASCENDING).limit(limit).to_list(None)

    async def held(self, session: Session, account_id: str) -> list[ReservationDoc]:
        """The account's held reservations, their deadlines only."""
        return await self.col.find(
            {"account_id": account_id, "status": "held"}, {"expires_at": 1}, session=session
        ).to_list(None)

    @staticmethod
    def _due(account_id: str, now: datetime) -> Doc:
        return {"account_id": account_id, "status": "held", "expires_at": {"$lte": now}}


class IdempotencyRepository:
    def __init__(self, db: Database) -> None:
        self.col = db[IDEMPOTENCY]

    @staticmethod
    def _id(account_id: str, key: str) -> str:
        # Account ids cannot contain a space, so this is unambiguous.
        return f"{account_id} {key}"

    async def get(self, session: Session, account_id: str, key: str) -> IdempotencyDoc | None:
        return await self.col.find_one(_of(account_id, self._id(account_id, key)), session=session)

    async def insert(self, session: Session, account_id: str, key: str, record: Doc) -> None:
        await self.col.insert_one(self._document(account_id, key, record), session=session)

    async def insert_many(
        self, session: Session, account_id: str, records: list[tuple[str, Doc]]
    ) -> None:
        """A batch's records, `(key, record)` each, in one call."""
        if not records:
            return None
        if len(records) == 1:
            return await self.insert(session, account_id, *records[0])
        await self.col.insert_many(
            [self._document(account_id, key, record) for key, record in records],
            session=session,
        )

    def _document(self, account_id: str, key: str, record: Doc) -> Doc:
        return {"_id": self._id(account_id, key), "account_id": account_id, "key": key, **record}

    async def stored_keys(self, session: Session, account_id: str, keys: list[str]) -> set[str]:
        """Which of `keys` the account has a record of (one call)."""
        ids = [self._id(account_id, key) for key in keys]
        query = {"_id": {"$in": ids}, "account_id": account_id}
        docs = await self.col.find(query, {"key": 1}, session=session).to_list(None)
        return {doc["key"] for doc in docs}

    async def get_many(
        self, session: Session, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], Doc]:
        """The records of these `(account_id, key)`s, by them: one call for a usage batch."""
        found = await self.col.find(self.keys_query(keys), session=session).to_list(None)
        return {(doc["account_id"], doc["key"]): doc for doc in found}

    @classmethod
    def keys_query(cls, keys: list[tuple[str, str]]) -> Doc:
        """Records by `_id` (its index), with the accounts that name their shards."""
        return {
            "_id": {"$in": [cls._id(account_id, key) for account_id, key in keys]},
            "account_id": {"$in": list({account_id for account_id, _ in keys})},
        }

    async def insert_of_accounts(
        self, session: Session, records: list[tuple[str, str, Doc]]
    ) -> None:
        """Records of several accounts, `(account_id, key, record)` each, in one call."""
        if records:
            await self.col.insert_many(
                [self._document(account_id, key, record) for account_id, key, record in records],
                session=session,
            )

    async def drop_answers(self, before: datetime, now: datetime) -> int:
        """Forget the stored answers of keys used before `before`; the keys themselves (and
        their fingerprints) stay, so a key is never used twice."""
        return await update_in_batches(
            self.col,
            {"created_at": {"$lt": before}, "body": {"$exists": True}},
            {"$unset": {"body": "", "status": ""}, "$set": {"answer_dropped_at": now}},
            "created_at",
            ANSWERS_BATCH,
        )


class Repositories:
    """All ledger repositories over one database, built once at start-up."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.accounts = AccountRepository(db)
        self.grants = GrantRepository(db)
        self.ledger = LedgerRepository(db)
        self.reservations = ReservationRepository(db)
        self.idempotency = IdempotencyRepository(db)
