"""Start-up creates every collection and index; the hot queries are answered by an index
(checked with explain on a real server)."""

from datetime import timedelta

import pytest
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import OperationFailure

from app.http.app import create_app
from app.ledger.repository import (
    SPENDING_ORDER,
    GrantRepository,
    IdempotencyRepository,
    LedgerRepository,
)
from app.storage.database import (
    CUSTOMERS,
    GRANTS,
    IDEMPOTENCY,
    INDEXES,
    LEDGER,
    RESERVATIONS,
    IndexOptionsChanged,
    list_indexes,
)
from app.storage.migrations.numbering import READ_INDEX, READ_ORDER, window_query
from tests.factories import grant, make_account
from tests.support.settings import START


async def test_start_up_creates_every_collection_and_index(app, db):
    names = set(await db.db.list_collection_names())
    assert set(INDEXES) <= names  # none is left for a transaction to create
    for collection, models in INDEXES.items():
        cursor = await list_indexes(db.db[collection])
        listed = {i["name"]: dict(i["key"]) async for i in cursor}
        for model in models:
            assert listed[model.document["name"]] == dict(model.document["key"])


async def test_an_index_whose_keys_changed_is_replaced_at_start_up(db):
    old_keys = [("account_id", ASCENDING), ("expired", ASCENDING), ("expires_at", ASCENDING)]
    await db.db[GRANTS].create_index(old_keys, name="spending_order")

    await db.ensure_indexes()

    listed = {i["name"]: list(i["key"]) async for i in await list_indexes(db.db[GRANTS])}
    assert listed["spending_order"][-1] == "_id"


def _stages(plan: dict) -> list[str]:
    out, todo = [], [plan]
    while todo:
        node = todo.pop()
        out.append(node["stage"])
        todo += [node[k] for k in ("inputStage",) if k in node]
        todo += node.get("inputStages", [])
    return out


async def _winning(col, query, sort=None) -> tuple[list[str], set[str]]:
    cursor = col.find(query)
    if sort:
        cursor = cursor.sort(sort)
    plan = (await cursor.explain())["queryPlanner"]["winningPlan"]
    plan = plan.get("queryPlan", plan)  # the slot-based engine wraps it
    stages = _stages(plan)
    names = set()
    todo = [plan]
    while todo:
        node = todo.pop()
        if "indexName" in node:
            names.add(node["indexName"])
        todo += [node[k] for k in ("inputStage",) if k in node] + node.get("inputStages", [])
    return stages, names


@pytest.mark.real_server
async def test_ledger_key_look_up_uses_the_partial_unique_index(client, db):
    await make_account(client, "user_1", 10, key="welcome")

    stages, names = await _winning(db.db[LEDGER], LedgerRepository.key_query("user_1", "welcome"))

    assert "COLLSCAN" not in stages
    assert names == {"account_idempotency_key"}


@pytest.mark.real_server
async def test_a_usage_batchs_key_look_up_uses_the_id_index(client, db):
    await make_account(client, "user_1", 10)

    await make_account(client, "user_2", 10)

    stages, names = await _winning(
        db.db[IDEMPOTENCY],
        IdempotencyRepository.keys_query([("user_1", "a"), ("user_1", "b"), ("user_2", "a")]),
    )

    assert "COLLSCAN" not in stages
    assert names == {"_id_"}


@pytest.mark.real_server
async def test_a_usage_batchs_grants_are_read_by_an_index(client, db):
    await grant(client, "user_1", 10, expires_at=START + timedelta(days=1))
    await grant(client, "user_2", 10)
    listed = {
        account: [g["_id"] async for g in db.db[GRANTS].find({"account_id": account})]
        for account in ("user_1", "user_2")
    }

    stages, _ = await _winning(
        db.db[GRANTS], GrantRepository.spendable_of_query(listed, START), SPENDING_ORDER
    )

    assert "COLLSCAN" not in stages


@pytest.mark.real_server
async def test_spending_order_is_read_from_its_index_without_a_sort(client, db):
    await grant(client, "user_1", 10, expires_at=START + timedelta(days=1))
    await grant(client, "user_1", 10)

    stages, names = await _winning(
        db.db[GRANTS], GrantRepository.spendable_query("user_1", START), SPENDING_ORDER
    )

    assert "COLLSCAN" not in stages and "SORT" not in stages
    assert names == {"spending_order"}


@pytest.mark.real_server
async def test_due_holds_and_ledger_pages_use_their_indexes(client, db):
    await make_account(client, "user_1", 10)
    stages, _ = await _winning(
        db.db[RESERVATIONS],
        {"account_id": "user_1", "status": "held", "expires_at": {"$lte": START}},
    )
    assert "COLLSCAN" not in stages
    # The ledger page as LedgerRepository.page asks for it, newest first by seq.
    stages, names = await _winning(
        db.db[LEDGER], {"account_id": "user_1", "seq": {"$gt": 0}}, [("seq", DESCENDING)]
    )
    assert "COLLSCAN" not in stages and "SORT" not in stages
    assert names == {"account_newest"}
    # The balance at a time: the last entry created at or before it.
    stages, _ = await _winning(
        db.db[LEDGER],
        {"account_id": "user_1", "created_at": {"$lte": START}},
        [("created_at", DESCENDING), ("seq", DESCENDING)],
    )
    assert "COLLSCAN" not in stages and "SORT" not in stages


@pytest.mark.real_server
async def test_a_numbering_window_is_one_range_of_its_index(client, db):
    await make_account(client, "user_1", 10)

    for start, inclusive in ((None, True), ((START, "le_0"), True), ((START, "le_0"), False)):
        query = window_query("user_1", start, inclusive=inclusive)
        stages, names = await _winning(db.db[LEDGER], query, READ_ORDER)
        assert "COLLSCAN" not in stages and "SORT" not in stages
        assert names == {READ_INDEX}


async def test_a_retired_index_is_dropped_at_start_up(db):
    # The customer link was unique per account: an account's second customer could not link.
    await db.db[CUSTOMERS].create_index(
        [("account_id", ASCENDING)], unique=True, name="account_unique"
    )

    await db.ensure_indexes()

    listed = {i["name"] async for i in await list_indexes(db.db[CUSTOMERS])}
    assert "account_unique" not in listed


class SecondInstanceFirst:
    """The database as a replica set answers an instance whose twin, started at the same
    moment, creates each collection and drops each index just before it does."""

    def __init__(self, raw) -> None:
        self._raw = raw

    def __getattr__(self, name):
        return getattr(self._raw, name)

    def __getitem__(self, name):
        return DroppedFirst(self._raw[name])

    async def create_collection(self, name):
        await self._raw.create_collection(name)
        raise OperationFailure(f"Collection {name} already exists.", code=48)


class DroppedFirst:
    def __init__(self, raw) -> None:
        self._raw = raw

    def __getattr__(self, name):
        return getattr(self._raw, name)

    async def drop_index(self, name):
        await self._raw.drop_index(name)
        raise OperationFailure(f"index not found with name [{name}]", code=27)


@pytest.mark.embedded_only  # the twin is played on the embedded engine's client
async def test_start_up_beside_a_twin_that_creates_and_drops_first(db):
    old_keys = [("account_id", ASCENDING), ("expired", ASCENDING)]
    await db.db[GRANTS].create_index(old_keys, name="spending_order")
    db.db = SecondInstanceFirst(db.db)

    await db.ensure_indexes()

    db.db = db.db._raw
    assert set(INDEXES) <= set(await db.db.list_collection_names())
    listed = {i["name"]: list(i["key"]) async for i in await list_indexes(db.db[GRANTS])}
    assert listed["spending_order"][-1] == "_id"


async def test_an_index_whose_options_changed_stops_start_up_naming_it(db):
    keys = [("account_id", ASCENDING), ("idempotency_key", ASCENDING)]
    await db.db[LEDGER].create_index(keys, name="account_idempotency_key")  # not unique

    with pytest.raises(IndexOptionsChanged) as stopped:
        await db.ensure_indexes()

    message = str(stopped.value)
    assert "'account_idempotency_key' on 'ledger_entries'" in message
    assert "unique, partialFilterExpression" in message
    assert "dropIndex" in message


async def test_a_service_whose_index_options_changed_does_not_start(db, settings, clock):
    keys = [("account_id", ASCENDING), ("idempotency_key", ASCENDING)]
    await db.db[LEDGER].create_index(keys, name="account_idempotency_key")  # not unique
    application = create_app(settings, db=db, clock=clock, sweeper=False)
    served = False

    with pytest.raises(IndexOptionsChanged) as stopped:
        async with application.router.lifespan_context(application):
            served = True  # 503s until stopped, the reason in a background task: no start

    assert not served
    assert "dropIndex" in str(stopped.value)
