"""Ready to shard by account: the main scenarios run with every collection call recorded, and
every filter on a sharded collection names its shard key (app/storage/sharding.py), unless it
is a read across accounts by design (served by an index declared for it) or the one read by
`_id` that finds the account of a hold or grant a request names alone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pymongo import UpdateOne

from app.jobs.loop import run_jobs
from app.storage.calls import Call
from app.storage.database import INDEXES, RESERVATIONS, TOPUPS
from app.storage.embedded.internals import update_one_parts
from app.storage.sharding import CROSS_ACCOUNT, LOOKUP_BY_ID, SHARD_KEYS, UNSHARDED
from tests.events.conftest import receiver  # noqa: F401 - fixture shared
from tests.events.helpers import register
from tests.factories import adjust, capture, debit, grant, make_account, release, reserve
from tests.support.settings import auth
from tests.webhooks.conftest import events  # noqa: F401 - fixture shared
from tests.webhooks.helpers import pack_checkout, renewal_invoice, send_ok, subscribe

SINGLE_WRITES = {"find_one_and_update", "find_one_and_delete", "update_one", "replace_one"}
SINGLE_WRITES |= {"delete_one"}
INSERTS = {"insert_one", "insert_many"}


def _filters(call: Call) -> list[tuple[str, Any]]:
    """(what kind of call, its filter or document) for each filter or document of the call."""
    args, kwargs = call.args, call.kwargs
    if call.operation in INSERTS:
        docs = args[0] if args else kwargs.get("document", kwargs.get("documents"))
        return [("insert", doc) for doc in (docs if isinstance(docs, list) else [docs])]
    if call.operation == "bulk_write":
        requests = args[0] if args else kwargs["requests"]
        return [("single", update_one_parts(r)[0]) for r in requests if isinstance(r, UpdateOne)]
    if call.operation == "aggregate":
        pipeline = args[0] if args else kwargs["pipeline"]
        first = pipeline[0] if pipeline else {}
        return [("many", first.get("$match", {}))]
    if call.operation == "distinct":
        return [("many", args[1] if len(args) > 1 else kwargs.get("filter") or {})]
    found = args[0] if args else kwargs.get("filter")
    kind = "single" if call.operation in SINGLE_WRITES else "read"
    if call.operation in {"find", "count_documents", "update_many", "delete_many"}:
        kind = "many"
    return [(kind, found or {})]


def _fields(filter: Any) -> set[str]:
    """Every field a filter names, at its top level or in its $and/$or clauses."""
    if not isinstance(filter, Mapping):
        return set()
    names = {k for k in filter if not k.startswith("$")}
    for clause in (*filter.get("$and", ()), *filter.get("$or", ())):
        names |= _fields(clause)
    return names


def _names(filter: Any, key: str) -> bool:
    """Whether the filter as a whole pins `key`: at its top level or in one $and clause."""
    if not isinstance(filter, Mapping):
        return False
    return key in filter or any(_names(clause, key) for clause in filter.get("$and", ()))


def _across_accounts(call: Call, filter: Any) -> bool:
    """A read (or batched write) across accounts that a declared index serves: the filter names
    every field of the index but `_id`; or a read in `_id` order (`_id_`, the `_id` index)
    whose filter names `_id` at most. A write by `_id`s alone is no such thing."""
    fields = _fields(filter)
    declared = INDEXES[call.collection]
    keys = {m.document["name"]: set(m.document["key"]) - {"_id"} for m in declared}
    return any(
        fields <= {"_id"} and call.operation == "find" if name == "_id_" else keys[name] <= fields
        for name in CROSS_ACCOUNT.get(call.collection, ())
    )


def missing_shard_key(call: Call) -> list[str]:
    """What of `call` a sharded cluster could not send to one account's shard."""
    key = SHARD_KEYS.get(call.collection)
    if key is None:
        return []
    wrong = []
    for kind, filter in _filters(call):
        if kind == "insert":
            named = key in filter or key == "_id"  # an inserted _id is there (or generated)
        elif kind == "many":
            named = _names(filter, key) or _across_accounts(call, filter)
        else:
            named = _names(filter, key) or (
                kind == "read"
                and call.collection in LOOKUP_BY_ID
                and set(filter) == {"_id"}
                and call.kwargs.get("session") is None
            )
        if not named:
            wrong.append(f"{call.operation} {call.collection} {dict(filter)!r}")
    return wrong


def test_every_collection_is_sharded_by_account_or_says_why_not():
    assert set(SHARD_KEYS) | set(UNSHARDED) == set(INDEXES)
    assert not set(SHARD_KEYS) & set(UNSHARDED)
    for collection, names in CROSS_ACCOUNT.items():
        declared = {"_id_"} | {m.document["name"] for m in INDEXES[collection]}
        assert set(names) <= declared, collection


def test_a_filter_by_id_alone_on_a_sharded_collection_is_caught():
    by_id = Call("find_one_and_update", RESERVATIONS, ({"_id": "rsv_1"}, {"$set": {}}), {})
    assert missing_shard_key(by_id) == [f"find_one_and_update {RESERVATIONS} {{'_id': 'rsv_1'}}"]
    named = Call("find_one_and_update", RESERVATIONS, ({"_id": "rsv_1", "account_id": "a"}, {}), {})
    assert missing_shard_key(named) == []


async def _ledger_scenarios(client, clock) -> None:
    """Grants, debits (one using a grant up), holds captured, released and left to expire,
    replays, an adjustment, a grant's change and void, and the reads of an account."""
    await make_account(client, "user_a", 100, expires_at=clock.now() + timedelta(days=2))
    await grant(client, "user_a", 50)
    assert (await debit(client, "user_a", 120, key="d-1")).status_code == 201
    assert (await debit(client, "user_a", 1, key="d-1")).status_code == 409  # another request
    assert (await debit(client, "user_a", 120, key="d-1")).status_code == 201  # replayed
    assert (await debit(client, "user_a", 1000)).status_code == 402
    held = (await reserve(client, "user_a", 10)).json()["id"]
    assert (await capture(client, held, 4, key="c-1")).status_code == 200
    assert (await capture(client, held, 4, key="c-1")).status_code == 200  # replayed
    freed = (await reserve(client, "user_a", 5)).json()["id"]
    assert (await release(client, freed)).status_code == 200
    assert (await release(client, freed)).status_code == 409
    assert (await reserve(client, "user_a", 3, ttl_seconds=60)).status_code == 201
    assert (await adjust(client, "user_a", 7)).status_code == 201
    later = (await grant(client, "user_a", 9, expires_at=clock.now() + timedelta(days=9))).json()
    grant_id = later["entry"]["grants"][0]["grant_id"]
    new_expiry = {"expires_at": (clock.now() + timedelta(days=20)).isoformat()}
    patched = await client.patch(
        f"/v1/grants/{grant_id}", json=new_expiry, headers={**auth(), "Idempotency-Key": "p-1"}
    )
    assert patched.status_code == 200, patched.text
    voided = await client.post(
        f"/v1/grants/{grant_id}/void",
        json={"reason": "test"},
        headers={**auth(), "Idempotency-Key": "v-1"},
    )
    assert voided.status_code == 200, voided.text
    for path in (
        "",
        "/ledger",
        "/timeline",
        "/usage",
        "/grants",
        "/reservations",
        "/alerts",
        f"/balance?at={clock.now().isoformat().replace('+00:00', 'Z')}",
        "/access?cost=1",
    ):
        answer = await client.get(f"/v1/accounts/user_a{path}", headers=auth())
        assert answer.status_code == 200, (path, answer.text)
    assert (await client.get(f"/v1/reservations/{held}", headers=auth())).status_code == 200


async def _stripe_scenarios(client, clock, events) -> None:  # noqa: F811 - the fixture's value
    """A subscription, its renewal, a pack, its refund and a dispute."""
    sub = await subscribe(client, events)
    assert (await debit(client, "user_1", 30)).status_code == 201
    clock.advance(days=30)
    events.now = sub["end"]
    assert await send_ok(client, renewal_invoice(events, period_start=sub["end"])) == "processed"
    pack = pack_checkout(events, payment_intent="pi_pack", amount_total=1000)
    assert await send_ok(client, pack) == "processed"
    refund = events.charge_refunded(
        charge_id="ch_pack", payment_intent="pi_pack", amount=1000, amount_refunded=500
    )
    assert await send_ok(client, refund) == "processed"
    dispute = events.dispute_event(charge_id="ch_pack", payment_intent="pi_pack", amount=500)
    assert await send_ok(client, dispute) == "processed"


async def test_every_call_on_a_sharded_collection_names_the_account(
    app,
    client,
    db,
    clock,
    events,  # noqa: F811 - the fixture
    receiver,  # noqa: F811 - the fixture
):
    await register(client, receiver)
    db.calls.recorded = []

    await _ledger_scenarios(client, clock)
    await _stripe_scenarios(client, clock, events)
    await app.state.services.dispatcher.run_once()  # outgoing events: fanned out and delivered
    assert (await client.get("/v1/events?limit=5", headers=auth())).status_code == 200
    clock.advance(days=95)  # holds and grants expire; retention; notices; allocations
    state = app.state.services
    await run_jobs(
        state.repos, state.notices, state.retention, state.catalog, clock.now(), state.metrics
    )
    await app.state.services.dispatcher.run_once()
    assert (await client.get("/v1/admin/verify", headers=auth())).json()["ok"]

    recorded, db.calls.recorded = db.calls.recorded, None
    # Each was exercised; auto top-up's calls need a Stripe (tests/topups/test_purchase.py).
    assert {call.collection for call in recorded} >= set(SHARD_KEYS) - {TOPUPS}
    wrong = sorted({problem for call in recorded for problem in missing_shard_key(call)})
    assert wrong == [], "\n".join(wrong)
