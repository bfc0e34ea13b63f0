"""The embedded engine's fast paths (app/storage/embedded/fast.py) answer exactly as
mongomock's scans: by `_id`, and unique keys checked without reading the collection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pymongo.errors import DuplicateKeyError

from app.storage.database import ACCOUNTS, LEDGER
from tests.factories import assert_invariants, grant, make_account

embedded_only = pytest.mark.skipif(
    "os.environ.get('MONGODB_TEST_URI')", reason="the embedded engine's own paths"
)


def entry(n: int, account: str = "a", key: str | None = None) -> dict:
    doc = {"_id": f"le_{n}", "account_id": account, "amount": n}
    if key is not None:
        doc["idempotency_key"] = key
    return doc


@embedded_only
async def test_a_unique_key_is_refused_and_freed_again_once_its_holder_is_gone(app, db):
    col = db.db.raw[LEDGER]
    await col.insert_one(entry(1, key="k"))
    await col.insert_one(entry(2))  # key-less entries are outside the partial index
    await col.insert_one(entry(3))
    with pytest.raises(DuplicateKeyError):
        await col.insert_one(entry(4, key="k"))
    assert await col.find_one({"_id": "le_4"}) is None
    await col.insert_one(entry(5, account="b", key="k"))  # another account's key
    await col.delete_one({"_id": "le_1"})
    await col.insert_one(entry(6, key="k"))
    await col.update_one({"_id": "le_6"}, {"$set": {"idempotency_key": "k2"}})
    await col.insert_one(entry(7, key="k"))
    with pytest.raises(DuplicateKeyError):
        await col.update_one({"_id": "le_2"}, {"$set": {"idempotency_key": "k2"}})
    assert (await col.find_one({"_id": "le_2"})).get("idempotency_key") is None


@embedded_only
async def test_lookups_by_id_still_apply_the_whole_filter(app, db):
    col = db.db.raw[LEDGER]
    for n in range(1, 6):
        await col.insert_one(entry(n, account="a" if n % 2 else "b"))
    assert (await col.find_one({"_id": "le_1", "account_id": "b"})) is None
    assert (await col.find_one({"_id": "le_2", "account_id": "b"}))["amount"] == 2
    found = await col.find(
        {"_id": {"$in": ["le_1", "le_2", "le_3", "le_9", "le_1"]}, "account_id": "a"}
    ).to_list(None)
    assert sorted(d["_id"] for d in found) == ["le_1", "le_3"]
    found = await col.find({"account_id": {"$eq": "b", "$type": "string"}}).to_list(None)
    assert sorted(d["_id"] for d in found) == ["le_2", "le_4"]


async def test_an_account_written_before_next_due_at_existed_expires_what_is_due(client, db, clock):
    """Such an account counts as due once: its first read expires and sets the field."""
    await make_account(client, "user_old", 10)
    await grant(client, "user_old", 20, expires_at=clock.now() + timedelta(days=1))
    await db.db.raw[ACCOUNTS].update_one({"_id": "user_old"}, {"$unset": {"next_due_at": ""}})
    clock.advance(days=2)
    response = await client.get(
        "/v1/accounts/user_old", headers={"Authorization": "Bearer key-reader"}
    )
    assert response.json()["balance"] == 10
    account = await db.db.raw[ACCOUNTS].find_one({"_id": "user_old"})
    assert account["next_due_at"].year == 9999
    await assert_invariants(db, "user_old")


def brute_force(col, query: dict) -> list:
    """What a filter matches, by mongomock's matcher over every stored document."""
    from mongomock.filtering import filter_applies

    return sorted(d["_id"] for d in list(col._store.documents) if filter_applies(query, d))


@embedded_only
async def test_a_bucketed_equality_finds_what_a_scan_finds_after_every_kind_of_write(app, db):
    """`account_id` and `dispatched` equalities (each the first field of an index) are answered
    from buckets that every write keeps (app/storage/embedded/buckets.py): inserts, updates that
    move a document between values, replacements, upserts, deletes and re-inserts, and a unit
    of work undone."""
    col, raw = db["bucketed"], db.db.raw["bucketed"]
    await col.create_index([("account_id", 1), ("_id", 1)])
    await col.create_index([("dispatched", 1)])
    queries = [{"account_id": a} for a in ("a", "b", "c", "nobody")] + [
        {"dispatched": False},
        {"dispatched": True},
        {"account_id": "a", "dispatched": False},
    ]

    async def check() -> None:
        for query in queries:
            found = sorted(d["_id"] for d in await col.find(query).to_list(None))
            assert found == brute_force(raw, query), query
            assert await col.count_documents(query) == len(found)

    for n in range(30):
        await col.insert_one({"_id": f"e{n}", "account_id": "ab"[n % 2], "dispatched": n < 10})
    await check()  # the buckets are filled by the first queries, then kept by the writes
    await col.update_one({"_id": "e1"}, {"$set": {"account_id": "c"}})
    await col.update_many({"account_id": "a"}, {"$set": {"dispatched": True}})
    await col.replace_one({"_id": "e3"}, {"account_id": "a", "dispatched": False})
    await col.update_one(
        {"_id": "e99"}, {"$set": {"account_id": "c", "dispatched": False}}, upsert=True
    )
    await col.delete_one({"_id": "e5"})
    await col.insert_one({"_id": "e5", "account_id": "c", "dispatched": True})
    await col.delete_many({"account_id": "b", "dispatched": True})
    await raw.insert_many(
        [{"_id": f"m{n}", "account_id": "b", "dispatched": False} for n in range(3)]
    )
    await check()

    async def undone(session):
        await col.update_one({"_id": "e7"}, {"$set": {"account_id": "a"}}, session=session)
        await col.insert_one({"_id": "u1", "account_id": "a", "dispatched": False}, session=session)
        raise RuntimeError("undo me")

    with pytest.raises(RuntimeError):
        await db.transaction(undone)
    await check()
    assert sorted(d["_id"] for d in await col.find({"account_id": "c"}).to_list(None)) == [
        "e1",
        "e5",
        "e99",
    ]


@embedded_only
async def test_an_array_in_a_bucketed_field_is_still_found(app, db):
    col, raw = db["bucketed"], db.db.raw["bucketed"]
    await col.create_index([("account_id", 1)])
    for n in range(5):
        await col.insert_one({"_id": f"e{n}", "account_id": "a"})
    assert len(await col.find({"account_id": "a"}).to_list(None)) == 5
    await col.insert_one({"_id": "arr", "account_id": ["a", "b"]})
    await col.update_one({"_id": "e0"}, {"$set": {"account_id": ["b"]}})
    for value in ("a", "b"):
        found = sorted(d["_id"] for d in await col.find({"account_id": value}).to_list(None))
        assert found == brute_force(raw, {"account_id": value})
    assert "arr" in brute_force(raw, {"account_id": "b"})


def test_documents_are_copied_as_deepcopy_copies_them():
    """copy_document stands for copy.deepcopy in the journal, the answers and mongomock's own
    snapshots: equal values of the same types, nothing mutable shared."""
    import copy
    from collections import OrderedDict
    from datetime import UTC, datetime

    from bson import Decimal128, ObjectId

    from app.storage.embedded.copies import copy_document

    doc = OrderedDict(
        [
            ("_id", "a"),
            ("n", 1),
            ("at", datetime(2026, 1, 1, tzinfo=UTC)),
            ("tags", ["x", {"deep": [1, 2]}]),
            ("money", Decimal128("1.5")),
            ("oid", ObjectId()),
            ("nested", {"od": OrderedDict([("k", [3])])}),
            ("pair", (1, [2])),
            ("none", None),
            ("raw", b"\x01"),
        ]
    )
    ours, theirs = copy_document(doc), copy.deepcopy(doc)
    assert ours == theirs
    assert repr(ours) == repr(theirs)  # the same types all the way down
    ours["tags"][1]["deep"].append(3)
    ours["nested"]["od"]["k"].append(4)
    ours["pair"][1].append(5)
    assert doc == theirs  # the original is untouched


@embedded_only
async def test_a_field_whose_bucket_retired_is_still_scanned_at_size(app, db):
    """An array in a bucketed field leaves that field's queries to the yielding scan."""
    from app.storage.embedded.buckets import bucket_size
    from app.storage.embedded.scan import Scanner

    db.engine.scanner = Scanner()  # the engine's own thresholds, whatever the run set
    raw = db.db.raw["retired"]
    await db["retired"].create_index([("account_id", 1)])
    await raw.insert_many([{"_id": f"e{n}", "account_id": "a"} for n in range(3)])
    await raw.insert_one({"_id": "arr", "account_id": ["a"]})
    assert bucket_size(raw._store, [("account_id", "a")]) is None
    assert db.engine.scanner.applies(raw, {"account_id": "a"}) is False  # 4 documents
    db.engine.scanner.above = 2
    assert db.engine.scanner.applies(raw, {"account_id": "a"}) is True


def test_the_partial_filters_python_answers_agree_with_mongomocks_matcher():
    from datetime import UTC, datetime

    from mongomock.filtering import filter_applies

    from app.storage.embedded.uniques import in_partial

    partials = [
        {"idempotency_key": {"$type": "string"}},
        {"seq": {"$gt": 0}},
        {"body": {"$exists": True}},
        {"body": {"$exists": False}},
    ]
    values = [
        None,
        "k",
        "",
        0,
        1,
        -1,
        2.5,
        0.0,
        True,
        False,
        [1],
        ["k"],
        {"a": 1},
        datetime.now(UTC),
    ]
    docs = [{}] + [{field: v} for field in ("idempotency_key", "seq", "body") for v in values]
    for partial in partials:
        for doc in docs:
            assert in_partial(partial, doc) == filter_applies(partial, doc), (partial, doc)


@embedded_only
def test_a_plain_document_is_stored_as_mongomocks_own_insert_stores_it():
    """The one-walk insert: the same stored document (naive UTC datetimes to the millisecond,
    tuples as lists, nothing shared with the caller's), the same refusals."""
    from datetime import UTC, datetime, timedelta, timezone

    import mongomock
    from bson import Timestamp
    from bson.errors import InvalidDocument

    from app.storage.embedded import fast, internals

    assert fast.install()  # as the engine does (idempotent)
    at = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    doc = {
        "_id": "a",
        "at": at,
        "naive": datetime(2026, 1, 1, 0, 0, 0, 999999),
        "nested": {"when": at.astimezone(UTC), "list": [1, {"x": (2, at)}], "none": None},
        "pair": (1, [2]),
        "raw": b"\x01",
        "flag": True,
        "n": 2.5,
    }
    ours_col = mongomock.MongoClient().db.c
    theirs_col = mongomock.MongoClient().db.c
    ours_col.insert_one(dict(doc))
    internals.original("_insert")(theirs_col, dict(doc))
    ours, theirs = ours_col._store._documents["a"], theirs_col._store._documents["a"]
    assert ours == theirs and repr(ours) == repr(theirs)
    assert ours["nested"] is not doc["nested"]
    no_id = {"v": 1}
    ours_col.insert_one(no_id)
    assert ours_col._store._documents[no_id["_id"]] == no_id  # the caller's dict gets the _id
    for bad, error in (
        ({"_id": "b", "x": {"a\0b": 1}}, InvalidDocument),
        ({"_id": "c", "$x": 1}, InvalidDocument),
        ({"_id": "d", "x": {1, 2}}, InvalidDocument),  # not BSON: mongomock's own refuses it
        ({"_id": "a"}, DuplicateKeyError),
    ):
        with pytest.raises(error):
            ours_col.insert_one(bad)
    ours_col.insert_one({"_id": "e", "t": Timestamp(0, 0)})  # unusual: mongomock's own path
    assert ours_col._store._documents["e"]["t"] != Timestamp(0, 0)


def _pure_mongomock(col):
    """`col` with mongomock's own insert, unique-index check and scan (the speed-ups stay on
    the class, for every other collection)."""
    import types

    from app.storage.embedded import internals

    for name in ("_insert", "_ensure_uniques", "_iter_documents"):
        setattr(col, name, types.MethodType(internals.original(name), col))
    return col


def _outcome(write, *args) -> str:
    try:
        write(*args)
    except DuplicateKeyError:
        return "duplicate"
    return "ok"


@embedded_only
def test_unique_checks_answer_as_mongomocks_scan_of_every_document():
    """The compiled unique checks (app/storage/embedded/uniques.py) refuse exactly the inserts
    and updates mongomock's own check refuses, and leave the same documents stored: compound,
    partial (each filter kind the service declares, and one only mongomock's matcher answers),
    sparse and dotted keys; values of every kind (arrays, booleans against numbers, sub-documents
    and paths through arrays go to mongomock's own check); an index made again under its name."""
    import random

    import mongomock

    from app.storage.embedded import fast

    assert fast.install()
    indexes = [
        (
            [("account_id", 1), ("key", 1)],
            {"partialFilterExpression": {"key": {"$type": "string"}}},
        ),
        ([("account_id", 1), ("seq", 1)], {"partialFilterExpression": {"seq": {"$gt": 0}}}),
        ([("body.ref", 1)], {"sparse": True}),
        ([("code", 1)], {"partialFilterExpression": {"body": {"$exists": True}}}),
        ([("code", 1), ("seq", 1)], {"partialFilterExpression": {"account_id": "a", "seq": 1}}),
    ]
    ours, theirs = mongomock.MongoClient().db.ours, _pure_mongomock(mongomock.MongoClient().db.t)
    for n, (keys, options) in enumerate(indexes):
        for col in (ours, theirs):
            col.create_index(keys, unique=True, name=f"i{n}", **options)
    choices = {
        "account_id": ["a", "b", "c", "d"],
        "key": ["k1", "k2", "k3", "k4", None, 1, ["k1"]],
        "seq": [1, 2, 1.0, 0, -1, "1", True, [1], None],
        # (an array or a sub-document at the end of a sparse key breaks mongomock's own check)
        "body": [{"ref": "r1"}, {"ref": "r2"}, {}, [{"ref": "r1"}], "s"],
        "code": ["c1", "c2", "c3", "c4", "c5", 1, True],
    }
    rng = random.Random(23)

    def document() -> dict:
        return {f: rng.choice(v) for f, v in choices.items() if rng.random() < 0.7}

    seen = []
    for n in range(600):
        if n == 300:  # an index dropped and made again under its name, on both
            for col in (ours, theirs):
                col.drop_index("i1")
                col.delete_many({})  # mongomock checks the new index without its filter
                col.create_index(
                    [("seq", 1)],
                    unique=True,
                    name="i1",
                    partialFilterExpression={"seq": {"$exists": True}},
                )
        doc = document()
        if n % 3 or not ours.count_documents({}):
            write = ("insert_one", {"_id": n, **doc})
        else:
            target = rng.choice([d["_id"] for d in theirs.find({}, {"_id": 1})])
            write = ("update_one", {"_id": target}, {"$set": doc} if doc else {"$unset": {"b": ""}})
        answers = [_outcome(getattr(col, write[0]), *write[1:]) for col in (ours, theirs)]
        assert answers[0] == answers[1], (n, doc)
        assert list(ours.find({}, sort=[("_id", 1)])) == list(theirs.find({}, sort=[("_id", 1)]))
        seen.append(answers[0])
    assert seen.count("duplicate") > 100 and seen.count("ok") > 60


@embedded_only
async def test_updates_leave_what_mongomocks_own_update_leaves(app, db):
    """The engine's update of the documents its write found (app/storage/embedded/internals.py
    `update_found`: no second filter, the journal's copy instead of a deep copy) answers and
    stores what mongomock's own update_many does: guarded updates that match or not, every
    operator the service uses, a positional update, an `_id` altered and a duplicate key
    (both refused, the document left as it was), in a unit of work and outside one."""
    from datetime import UTC, datetime

    import mongomock
    from pymongo import UpdateOne
    from pymongo.errors import WriteError

    at = datetime(2026, 1, 1, tzinfo=UTC)
    docs = [
        {"_id": f"a{n}", "seq": n, "balance": 10 * n, "ids": ["g1", "g2"], "at": at, "k": f"k{n}"}
        for n in range(4)
    ] + [{"_id": "arr", "items": [{"x": 1}, {"x": 2}], "k": "arr"}]
    col = db["updated"]
    theirs = _pure_mongomock(mongomock.MongoClient(tz_aware=True).db.theirs)
    await col.create_index([("k", 1)], unique=True, name="k")
    theirs.create_index([("k", 1)], unique=True, name="k")
    await col.insert_many([dict(d) for d in docs])
    theirs.insert_many([dict(d) for d in docs])
    later = datetime(2026, 2, 1, tzinfo=UTC)
    updates = [
        ({"_id": "a1", "seq": 1, "balance": 10}, {"$inc": {"balance": -3, "seq": 1}}),
        ({"_id": "a1", "seq": 1}, {"$inc": {"balance": -3}}),  # the guard no longer holds
        ({"_id": {"$in": ["a2", "a3", "nope"]}}, {"$set": {"at": later}, "$max": {"seq": 3}}),
        ({"_id": "a2", "at": {"$lt": later}}, {"$set": {"y": 1}}),
        ({"_id": "a3"}, {"$pull": {"ids": {"$in": ["g1"]}}, "$push": {"ids": "g3"}}),
        ({"_id": "a3"}, {"$min": {"at": at}, "$unset": {"y": ""}}),
        ({"_id": "a0"}, {"$set": {"seq": 0}}),  # changes nothing
        ({"_id": "arr", "items.x": 2}, {"$set": {"items.$.x": 5}}),
        ({"_id": "a0"}, {"$set": {"_id": "moved"}}),
        ({"_id": "a0"}, {"$set": {"k": "k1"}}),
        ({"account": "none", "_id": "a1"}, {"$set": {"z": 1}}),
    ]

    async def ours_update(filter, update, session=None):
        return await col.update_many(filter, update, session=session)

    for transaction in (False, True):
        for filter, update in updates:
            expected = _outcome_of(theirs.update_many, filter, update)
            if transaction:
                got = await _async_outcome_of(
                    db.transaction, lambda s, f=filter, u=update: ours_update(f, u, s)
                )
            else:
                got = await _async_outcome_of(ours_update, filter, update)
            assert got == expected, (filter, update)
            stored = await col.find({}, sort=[("_id", 1)]).to_list(None)
            assert stored == list(theirs.find({}, sort=[("_id", 1)])), (filter, update)
        result = await col.bulk_write([UpdateOne(f, u) for f, u in updates[:8]])
        reference = [theirs.update_one(f, u) for f, u in updates[:8]]
        assert result.matched_count == sum(r.matched_count for r in reference)
        assert result.modified_count == sum(r.modified_count for r in reference)
    assert _outcome_of(theirs.update_many, *updates[8]) == (WriteError, None)


def _outcome_of(write, *args):
    try:
        result = write(*args)
    except Exception as error:  # noqa: BLE001 - the outcome compared is the error's type
        return type(error), None
    return result.matched_count, result.modified_count


async def _async_outcome_of(write, *args):
    try:
        result = await write(*args)
    except Exception as error:  # noqa: BLE001 - the outcome compared is the error's type
        return type(error), None
    return result.matched_count, result.modified_count
