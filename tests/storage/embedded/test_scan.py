"""The embedded engine's yielding scan (app/storage/embedded/scan.py) answers as mongomock
does, and lets other tasks run while it scans a big collection. `EMBEDDED_SCAN_EVERYWHERE=1
make test` runs the whole suite with every unnarrowed query taking it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import ASCENDING, DESCENDING

from app.storage.embedded.scan import Scanner

embedded_only = pytest.mark.skipif(
    "os.environ.get('MONGODB_TEST_URI')", reason="the embedded engine's own paths"
)
pytestmark = embedded_only

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def docs(n: int) -> list[dict]:
    out = []
    for i in range(n):
        doc = {
            "_id": f"d{i:04d}",
            "account_id": f"a{i % 7}",
            "n": (i * 37) % 101,
            "flag": i % 3 == 0,
            "at": T0 + timedelta(minutes=(i * 13) % 50),
            "tags": ["x", "y"] if i % 5 == 0 else "x",
        }
        if i % 11 == 0:
            del doc["flag"]  # missing fields
        if i % 17 == 0:
            doc["n"] = str(doc["n"])  # a mixed type: sorted by mongomock, not here
        out.append(doc)
    return out


QUERIES = [
    ({}, None),
    ({"account_id": "a3"}, [("n", ASCENDING)]),
    ({"account_id": "a3", "flag": True}, [("at", DESCENDING), ("_id", ASCENDING)]),
    ({"flag": False}, [("_id", DESCENDING)]),
    ({"flag": {"$ne": True}}, [("_id", ASCENDING)]),
    ({"tags": "y"}, [("_id", ASCENDING)]),
    ({"at": {"$lt": T0 + timedelta(minutes=20)}}, [("at", ASCENDING), ("_id", DESCENDING)]),
    ({"_id": {"$gt": "d0100"}, "account_id": "a1"}, [("_id", ASCENDING)]),
    ({"$or": [{"account_id": "a2"}, {"n": {"$gte": 90}}]}, [("account_id", ASCENDING)]),
    ({"$and": [{"_id": {"$in": ["d0001", "d0002", "d0014", "zz"]}}, {"n": {"$gt": 0}}]}, None),
    ({"account_id": "nobody"}, [("_id", ASCENDING)]),
    # Ranges and $exists: false beside an equality, narrowed by a plain comparison first: over
    # values of two types (n), times, a missing field, and the tie-break of a range read.
    ({"account_id": "a2", "n": {"$gt": 40, "$lte": 90}}, [("n", ASCENDING), ("_id", ASCENDING)]),
    ({"account_id": "a4", "n": {"$lt": "5"}}, [("_id", ASCENDING)]),
    ({"account_id": "a1", "flag": {"$exists": False}}, [("at", ASCENDING), ("_id", ASCENDING)]),
    (
        {
            "account_id": "a5",
            "flag": {"$exists": False},
            "at": {"$gte": T0 + timedelta(minutes=13)},
            "$or": [{"at": {"$gt": T0 + timedelta(minutes=13)}}, {"_id": {"$gt": "d0100"}}],
        },
        [("at", ASCENDING), ("_id", ASCENDING)],
    ),
    ({"account_id": "a6", "tags": {"$gte": "y"}}, [("_id", ASCENDING)]),
    # Named by _id, sorted by values of two types (mongomock's BSON order), with a guard.
    ({"_id": {"$in": ["d0017", "d0003", "d0000", "zz", "d0005", "d0034"]}}, [("n", ASCENDING)]),
    (
        {"_id": {"$in": ["d0017", "d0003", "d0000", "d0005"]}, "flag": {"$ne": True}},
        [("flag", DESCENDING), ("at", ASCENDING)],
    ),
]


async def loaded(db, name: str, scanner: Scanner):
    db.engine.scanner = scanner
    col = db[name]
    for doc in docs(300):
        await col.insert_one(doc)
    return col


@pytest.mark.parametrize(("query", "order"), QUERIES)
@pytest.mark.parametrize(("skip", "limit"), [(0, 0), (0, 1), (3, 10), (0, 500)])
async def test_a_scan_answers_as_mongomock_does(db, query, order, skip, limit):
    col = await loaded(db, "scan", Scanner(above=-1, slice_size=7))
    raw = db.db.raw["scan"]

    async def both(projection=None):
        ours, theirs = col.find(query, projection), raw.find(query, projection)
        if order:
            ours, theirs = ours.sort(order), theirs.sort(order)
        ours, theirs = ours.skip(skip).limit(limit), theirs.skip(skip).limit(limit)
        return await ours.to_list(None), await theirs.to_list(None)

    ours, theirs = await both()
    assert ours == theirs
    if not order:  # mongomock's order is the store's (or the ids named); ours may differ
        return
    ours, theirs = await both({"n": 1})
    assert ours == theirs
    assert await col.find_one(query, sort=order) == await raw.find_one(query, sort=order)
    assert await col.count_documents(query) == await raw.count_documents(query)


async def test_a_sort_by_mixed_types_is_left_to_mongomock(db):
    col = await loaded(db, "scan", Scanner(above=-1, slice_size=5))
    query, order = {"account_id": "a0"}, [("n", DESCENDING)]
    ours = await col.find(query).sort(order).skip(2).limit(4).to_list(None)
    assert ours == await db.db.raw["scan"].find(query).sort(order).skip(2).limit(4).to_list(None)
    assert len({type(d["n"]) for d in await col.find(query).to_list(None)}) == 2


@pytest.mark.parametrize(
    "query",
    [
        {"flag": True},
        {"at": {"$gte": T0 + timedelta(minutes=30)}},
        {"account_id": "a5", "tags": "y"},
        {"account_id": "none"},
    ],
)
async def test_writes_by_scan_change_what_mongomock_would(db, query):
    ours = await loaded(db, "ours", Scanner(above=-1, slice_size=4))
    db.engine.scanner = Scanner(above=10**9)
    theirs = db["theirs"]
    for doc in docs(300):
        await theirs.insert_one(doc)
    db.engine.scanner = Scanner(above=-1, slice_size=4)

    update = {"$set": {"seen": True}, "$inc": {"n_seen": 1}}
    a, b = (
        await ours.update_many(query, update),
        await db.db.raw["theirs"].update_many(query, update),
    )
    assert (a.matched_count, a.modified_count) == (b.matched_count, b.modified_count)
    a, b = await ours.delete_many(query), await theirs.delete_many(query)
    assert a.deleted_count == b.deleted_count
    assert await db.db.raw["ours"].find().to_list(None) == await db.db.raw["theirs"].find().to_list(
        None
    )


@pytest.mark.parametrize("query", [{"flag": True}, {"n": {"$gte": 50}}])
async def test_a_big_collection_is_scanned_a_slice_at_a_time(db, query):
    """With the engine's own thresholds: a collection over 2,000 documents lets another task
    run between slices (the loop served requests there), where mongomock would hold it."""
    col = db["big"]
    await db.db.raw["big"].insert_many(
        [{"_id": i, "flag": i % 2 == 0, "n": i % 100} for i in range(6_000)]
    )
    scanner = db.engine.scanner
    step = scanner.slice_size * (16 if "flag" in query else 1)
    ticks = 0
    done = asyncio.Event()

    async def other_task():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    before = ticks
    found = await col.find(query).sort("_id", DESCENDING).limit(3).to_list(None)
    count = await col.count_documents(query)
    done.set()
    await task
    assert [d["_id"] for d in found] == (
        [5998, 5996, 5994] if "flag" in query else [5999, 5998, 5997]
    )
    assert count == 3_000
    assert ticks - before >= 2 * (6_000 // step)  # each scan, every slice
