"""The embedded engine's speed-ups, the ones the dev server needs to stay quick at volume
(docs/design.md, "The embedded engine at volume"): mongomock filters every document of a
collection for every query, and reads every document again for every unique index on every
insert, so a debit's cost grew with the whole database. Answers are unchanged (every
candidate still goes through mongomock's own filter); only documents that cannot match are
skipped. Put on mongomock by `install`, on the versions internals.py was written for only.
A real server is not touched by any of this."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidDocument
from pymongo.errors import DuplicateKeyError

from app.storage.documents import Doc
from app.storage.embedded import internals
from app.storage.embedded.buckets import all_documents, bucket, plain_id, remember
from app.storage.embedded.datetimes import aware_utc, naive_ms, naive_utc
from app.storage.embedded.internals import (
    documents_of,
    store_of,
)
from app.storage.embedded.uniques import check_uniques

_PLAIN_SORT = (str, int, float, datetime)


def field_of(key: str) -> Callable[[Doc], Any]:
    """A sort key: the field's value (sortable() checked that the values compare)."""
    return lambda doc: doc.get(key)


def exact_ids(filter: Any) -> tuple | None:
    """The `_id`s a filter can match when it names them (`_id: x` or `_id: {$in: [...]}`, or
    so in the first clause of a top-level `$and`)."""
    named = by_id(filter)
    return None if named is None else named[0]


def by_id(filter: Any) -> tuple[tuple, Any] | None:
    """The `_id`s a filter names, and the rest of the filter: a document fetched from the store
    by one of them meets the `_id` condition (mongomock's `$in` costs a comparison per id)."""
    if not isinstance(filter, Mapping):
        return None
    if "_id" not in filter:
        clauses = filter.get("$and")
        if not isinstance(clauses, list) or not clauses:
            return None
        named = by_id(clauses[0])
        if named is None:
            return None
        clauses_left = [named[1], *clauses[1:]] if named[1] else clauses[1:]
        others = {k: v for k, v in filter.items() if k != "$and"}
        return named[0], ({**others, "$and": clauses_left} if clauses_left else others)
    value = filter["_id"]
    rest = {k: v for k, v in filter.items() if k != "_id"}
    if plain_id(value):
        return (value,), rest
    if (
        isinstance(value, Mapping)
        and set(value) == {"$in"}
        and isinstance(value["$in"], list)
        and all(plain_id(v) for v in value["$in"])
    ):
        return tuple(dict.fromkeys(value["$in"])), rest
    return None


def named_ids(filter: Any) -> tuple[tuple, Any] | None:
    """The `_id`s a filter names, and the rest of it, as mongomock's find matches them (the
    filter's datetimes patched); None on a version the speed-ups are off for."""
    if not internals.PRIVATE or not isinstance(filter, Mapping):
        return None
    return by_id(internals.patched_filter(filter))


def _candidates(self: Any, filter: Any) -> tuple[list | None, Any]:
    """The documents that may match `filter` (None: every document may), and what of the
    filter they must still pass: by `_id` from the store when the filter names the ids; else
    those whose top-level string or boolean equalities hold, from the equality buckets."""
    store = store_of(self)
    named = by_id(filter)
    if named is not None:
        documents = documents_of(store)
        return [doc for i in named[0] if (doc := documents.get(i)) is not None], named[1]
    equal = equalities(filter)
    if not equal or not documents_of(store):
        return None, filter
    return narrowed(store, equal), filter


def narrowed(store: Any, equal: list[tuple[str, str | bool]]) -> list:
    """The documents whose top-level equalities may hold."""
    return keep_equal(source(store, equal), equal)


def source(store: Any, equal: list[tuple[str, str | bool]]) -> list:
    """Where to look: the bucket of the first equality on a bucketed field, else every
    document."""
    for key, wanted in equal:
        docs = bucket(store, key, wanted)
        if docs is not None:
            return docs
    return all_documents(store)


def keep_equal(docs: list, equal: list[tuple[str, str | bool]]) -> list:
    """The documents whose equalities may hold, by a plain comparison (looser than BSON's, never
    stricter): an array may hold the value, and mongomock's filter decides those."""
    for key, wanted in equal:
        docs = [doc for doc in docs if (v := doc.get(key)) == wanted or type(v) is list]
    return docs


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
Bound = tuple[str, str, Any]  # (top-level field, operator, value)


def bounds(filter: Any) -> list[Bound]:
    """The top-level conditions a plain comparison can refuse: `$gt`, `$gte`, `$lt`, `$lte` of a
    string, number or time, and `$exists: false` (a window of a range read: the entries after a
    time, not yet numbered)."""
    if not isinstance(filter, Mapping):
        return []
    found = []
    for field, condition in filter.items():
        if field.startswith("$") or "." in field or not isinstance(condition, Mapping):
            continue
        for op, value in condition.items():
            if (op in _COMPARE and _comparable(value) is not None) or (
                op == "$exists" and value is False
            ):
                found.append((field, op, value))
    return found


def keep_bounded(docs: list, conditions: list[Bound]) -> list:
    """The documents no condition refuses. A value refuses only when BSON would compare it as
    Python does (same kind: text by code point, which is UTF-8's byte order; numbers; times of
    the same awareness); arrays and other kinds are left to mongomock's filter."""
    for field, op, wanted in conditions:
        if op == "$exists":
            docs = [doc for doc in docs if field not in doc]
            continue
        compare, kind = _COMPARE[op], _comparable(wanted)
        docs = [
            doc for doc in docs if _comparable(v := doc.get(field)) != kind or compare(v, wanted)
        ]
    return docs


def _comparable(value: Any) -> tuple | None:
    """The kind of a value that a plain comparison orders as BSON does (None: any other)."""
    if type(value) is str:
        return (str,)
    if type(value) in (int, float) and value == value:  # NaN orders as BSON's does not
        return (float,)
    if type(value) is datetime:
        return (datetime, value.tzinfo is None)
    return None


def sortable(docs: list, keys: list[tuple[str, int]]) -> bool:
    """Python's order is BSON's when each key is a top-level field holding values of one plain
    type."""
    for key, _ in keys:
        if not isinstance(key, str) or key.startswith("$") or "." in key:
            return False
        kinds = {type(doc.get(key)) for doc in docs}
        if len(kinds) > 1 or (kinds and not issubclass(kinds.pop(), _PLAIN_SORT)):
            return False
    return True


def equalities(filter: Any) -> list[tuple[str, str | bool]]:
    """The top-level fields a filter requires to equal a string or boolean."""
    if not isinstance(filter, Mapping):
        return []
    return [
        (k, wanted)
        for k, v in filter.items()
        if (wanted := _equality(v)) is not None and not k.startswith("$") and "." not in k
    ]


def _iter_documents(self: Any, filter: Any):
    docs, rest = _candidates(self, filter)
    if docs is None:
        return internals.original("_iter_documents")(self, filter)
    return (doc for doc in docs if internals.filter_applies(rest, doc))


def _equality(condition: Any) -> str | bool | None:
    """The string or boolean a top-level condition requires the field to equal (`x` or
    `{$eq: x, ...}`). A plain `==` is looser than BSON's equality (0 == False), never
    stricter, so it only ever skips documents that cannot match."""
    if isinstance(condition, Mapping):
        condition = condition.get("$eq")
    return condition if isinstance(condition, str | bool) else None


def _ensure_uniques(self: Any, new_data: Mapping) -> None:
    """Run by mongomock after every insert and every update that changes a document (it is
    already in the store): the unique checks, then the equality buckets learn its values."""
    check_uniques(self, new_data)
    remember(store_of(self), new_data)


_PLAIN = frozenset({str, int, float, bool, type(None), bytes, ObjectId})


class _Unusual(Exception):
    """A value the one-walk insert leaves to mongomock (an OrderedDict, a Timestamp...)."""


def _insert(self: Any, data: Any, session: Any = None, ordered: bool = True) -> Any:
    """mongomock's insert of one plain document (dicts, lists, plain values, datetimes), with
    the same checks and the same stored document, in one walk instead of three (its check of
    the keys, its datetime patching and its copy cost 60-70 us a ledger entry): anything else
    goes to mongomock's own."""
    if session or type(data) is not dict or not plain_id(data.get("_id", "")):
        return internals.original("_insert")(self, data, session, ordered)
    try:
        stored = _internal(data, keys_checked=True)
    except _Unusual:
        return internals.original("_insert")(self, data, session, ordered)
    for key in data:
        if key[:1] == "$":
            raise InvalidDocument(f'Top-level field names cannot start with the "$" sign: {key}')
    internals.encode_checked(data)
    if "_id" not in data:
        data["_id"] = stored["_id"] = ObjectId()  # as mongomock does, on the caller's dict
    documents = documents_of(store_of(self))  # its own map: the engine runs on one thread
    doc_id = data["_id"]
    if doc_id in documents:
        raise DuplicateKeyError("E11000 Duplicate Key Error", 11000)
    documents[doc_id] = stored
    try:
        self._ensure_uniques(stored)
    except DuplicateKeyError:
        del documents[doc_id]
        raise
    return doc_id


def _internal(value: Any, keys_checked: bool) -> Any:
    """The stored copy of a value, as mongomock stores it: datetimes as naive UTC to the
    millisecond, tuples as lists; a field name with a null character refused (in documents
    that are not inside an array, where mongomock checks them)."""
    kind = type(value)
    if kind is dict:
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            if keys_checked and "\0" in key:
                raise InvalidDocument(f"Field names cannot contain the null character: {key}")
            # A plain value is taken here: a call per field was a third of the walk's time.
            copied[key] = item if type(item) in _PLAIN else _internal(item, keys_checked)
        return copied
    if kind in _PLAIN:
        return value
    if kind is list or kind is tuple:
        return [item if type(item) in _PLAIN else _internal(item, False) for item in value]
    if kind is datetime:
        return naive_ms(value)
    raise _Unusual


def install() -> bool:
    """Put the speed-ups on mongomock's collections (False: an untested version, left off)."""
    internals.install_datetimes(naive_utc, aware_utc)
    return internals.install(
        iter_documents=_iter_documents, ensure_uniques=_ensure_uniques, insert=_insert
    )
