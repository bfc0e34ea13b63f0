"""Transactions as a replica set runs them, through `Database.transaction`: a unit's writes are
invisible to other units and to plain reads until it commits, it reads its snapshot, the second
writer of a document meets a write conflict (TransientTransactionError) and is re-run, and a
write outside a transaction waits for the unit that holds its document. The last tests reach
into the embedded engine: the 60 s lifetime, the 120 s give-up, and seeded turns."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.errors import NetworkTimeout, OperationFailure, PyMongoError

from app.storage.embedded.turns import Seeded
from tests.support.settings import auth

COL = "engine_rules"


class Step:
    """Two units of work made to meet: each waits for the other at named points."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}

    def __getitem__(self, name: str) -> asyncio.Event:
        return self.events.setdefault(name, asyncio.Event())


async def test_a_units_write_is_unseen_by_others_until_it_commits(db):
    await db[COL].insert_one({"_id": "a", "n": 0})
    step, seen = Step(), {}

    async def writer(session):
        await db[COL].update_one({"_id": "a"}, {"$inc": {"n": 1}}, session=session)
        await db[COL].insert_one({"_id": "b", "n": 1}, session=session)
        step["written"].set()
        await step["read"].wait()

    async def reader(session):
        seen["unit"] = await db[COL].find({}, session=session).sort("_id", 1).to_list(None)

    running = asyncio.create_task(db.transaction(writer))
    await step["written"].wait()
    seen["plain"] = await db[COL].find({}).sort("_id", 1).to_list(None)
    seen["count"] = await db[COL].count_documents({"n": {"$gte": 0}})
    await db.transaction(reader)
    step["read"].set()
    await running

    assert seen["plain"] == seen["unit"] == [{"_id": "a", "n": 0}]
    assert seen["count"] == 1
    after = await db[COL].find({}).sort("_id", 1).to_list(None)
    assert after == [{"_id": "a", "n": 1}, {"_id": "b", "n": 1}]


async def test_the_second_writer_of_a_document_conflicts_and_is_run_again(db):
    await db[COL].insert_one({"_id": "a", "n": 0})
    step, errors, runs = Step(), [], []

    async def first(session):
        await db[COL].update_one({"_id": "a"}, {"$inc": {"n": 1}}, session=session)
        step["first wrote"].set()
        await step["second tried"].wait()

    async def second(session):
        runs.append(1)
        try:
            await db[COL].update_one({"_id": "a"}, {"$inc": {"n": 10}}, session=session)
        except PyMongoError as exc:
            errors.append(exc)
            step["second tried"].set()
            raise

    running = asyncio.create_task(db.transaction(first))
    await step["first wrote"].wait()
    await db.transaction(second)
    await running

    conflict = errors[0]
    assert isinstance(conflict, OperationFailure) and conflict.code == 112
    assert conflict.has_error_label("TransientTransactionError")
    assert len(runs) >= 2  # re-run after the first committed
    assert (await db[COL].find_one({"_id": "a"}))["n"] == 11


async def test_a_unit_reads_its_snapshot_and_cannot_write_what_committed_after_it(db):
    await db[COL].insert_one({"_id": "a", "n": 0})
    step, seen, errors = Step(), [], []

    async def slow(session):
        seen.append((await db[COL].find_one({"_id": "a"}, session=session))["n"])
        if len(seen) == 1:
            step["snapshot taken"].set()
            await step["other committed"].wait()
            seen.append((await db[COL].find_one({"_id": "a"}, session=session))["n"])
        try:
            await db[COL].update_one({"_id": "a"}, {"$inc": {"n": 10}}, session=session)
        except PyMongoError as exc:
            errors.append(exc.has_error_label("TransientTransactionError"))
            raise

    running = asyncio.create_task(db.transaction(slow))
    await step["snapshot taken"].wait()
    await db[COL].update_one({"_id": "a"}, {"$inc": {"n": 1}})  # commits at once
    step["other committed"].set()
    await running

    assert seen[:2] == [0, 0]  # the commit after its snapshot is not seen
    assert errors == [True]
    assert seen[2] == 1  # its re-run starts from the new snapshot
    assert (await db[COL].find_one({"_id": "a"}))["n"] == 11


async def test_a_unique_key_taken_by_a_unit_in_flight_is_a_write_conflict(db):
    await db[COL].create_index("email", unique=True, name="email_unique")
    step, errors = Step(), []

    async def first(session):
        await db[COL].insert_one({"_id": "a", "email": "x@example.com"}, session=session)
        step["inserted"].set()
        await step["tried"].wait()

    async def second(session):
        try:
            await db[COL].insert_one({"_id": "b", "email": "x@example.com"}, session=session)
        except PyMongoError as exc:
            errors.append(exc)
            step["tried"].set()
            raise

    running = asyncio.create_task(db.transaction(first))
    await step["inserted"].wait()
    with pytest.raises(PyMongoError) as raised:
        await db.transaction(second)
    await running

    assert errors[0].has_error_label("TransientTransactionError")  # while the first was open
    assert raised.value.code == 11000  # its re-run, after the first committed: a duplicate


async def test_a_write_outside_transactions_waits_for_the_unit_that_holds_its_document(db):
    await db[COL].insert_one({"_id": "a", "n": 0})
    step = Step()

    async def holder(session):
        await db[COL].update_one({"_id": "a"}, {"$set": {"n": 5}}, session=session)
        step["held"].set()
        await step["release"].wait()

    running = asyncio.create_task(db.transaction(holder))
    await step["held"].wait()
    plain = asyncio.create_task(db[COL].update_one({"_id": "a"}, {"$inc": {"n": 1}}))
    for _ in range(20):
        await asyncio.sleep(0)
    waited = not plain.done()
    step["release"].set()
    await asyncio.gather(running, plain)

    assert waited
    assert (await db[COL].find_one({"_id": "a"}))["n"] == 6  # on top of the commit


@pytest.mark.embedded_only
async def test_a_unit_past_60_seconds_is_aborted_and_run_again(db):
    turns = db.engine.turns = Seeded(0)
    runs = []

    async def slow(session):
        runs.append(1)
        await db[COL].insert_one({"_id": f"run{len(runs)}"}, session=session)
        if len(runs) == 1:
            turns.advance(61)  # the first run outlives the server's transaction lifetime
        await db[COL].find_one({"_id": "x"}, session=session)

    await db.transaction(slow)

    assert len(runs) == 2
    assert await db[COL].find({}).to_list(None) == [{"_id": "run2"}]  # the first was undone
    assert db.engine.stats["lifetime_aborts"] == 1


@pytest.mark.embedded_only
async def test_re_runs_give_up_after_120_seconds(db):
    turns = db.engine.turns = Seeded(0)
    runs = []

    async def always_conflicting(session):
        runs.append(1)
        turns.advance(10)
        raise OperationFailure(
            "WriteConflict", code=112, details={"errorLabels": ["TransientTransactionError"]}
        )

    with pytest.raises(NetworkTimeout):
        await db.transaction(always_conflicting)

    assert 10 <= len(runs) <= 13


@pytest.mark.embedded_only
async def test_one_seed_replays_one_interleaving(db):
    async def story(seed: int) -> list[str]:
        await db[COL].delete_many({})
        await db[COL].insert_one({"_id": "log", "order": []})
        db.engine.turns = Seeded(seed)

        async def unit(name: str):
            async def work(session):
                for step in range(3):
                    await db[COL].find_one({"_id": "log"}, session=session)
                    await db[COL].insert_one({"_id": f"{name}{step}"}, session=session)

            await db.transaction(work)
            await db[COL].update_one({"_id": "log"}, {"$push": {"order": name}})

        await asyncio.gather(*(unit(name) for name in "abcd"))
        return (await db[COL].find_one({"_id": "log"}))["order"]

    orders = [await story(seed) for seed in (1, 2, 1, 2, 3)]

    assert orders[0] == orders[2] and orders[1] == orders[3]
    assert len({tuple(o) for o in orders}) > 1  # the seeds do interleave differently


async def test_each_re_run_is_counted_in_metrics_by_its_error_label(app, client, db):
    runs = []

    async def conflicting_twice(session):
        runs.append(1)
        await db[COL].insert_one({"_id": f"run{len(runs)}"}, session=session)
        if len(runs) < 3:
            raise OperationFailure(
                "WriteConflict", code=112, details={"errorLabels": ["TransientTransactionError"]}
            )

    await app.state.services.db.transaction(conflicting_twice)

    text = (await client.get("/metrics", headers=auth("admin"))).text
    assert 'credit_ledger_transaction_retries_total{label="TransientTransactionError"} 2' in text
    assert await db[COL].find({}).to_list(None) == [{"_id": "run3"}]
