"""Fast paths for the embedded engine (mongomock), so that its cost does not grow with the data:
mongomock copies and filters every document of a collection for every query, and again for
every unique index on every insert. Answers are unchanged (every candidate still goes through
mongomock's own filter); only documents that cannot match are skipped. A real server is not
touched by any of this."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from mongomock import DuplicateKeyError, helpers
from mongomock.collection import Collection
from mongomock.filtering import filter_applies, resolve_sort_key

from app.storage.documents import Doc
from app.storage.embedded import internals
from app.storage.embedded.buckets import all_documents, bucket, plain_id, remember
from app.storage.embedded.copies import CopyModule, answer_copy, patch_datetimes
from app.storage.embedded.internals import (
    ORIGINAL_ENSURE_UNIQUES,
    ORIGINAL_FIND_ONE,
    ORIGINAL_GET_DATASET,
    ORIGINAL_ITER_DOCUMENTS,
    documents_of,
    indexes_of,
    private_state,
    store_of,
)

_PLAIN_SORT = (str, int, float, datetime)
_CACHE = "_credit_ledger_unique_keys"
_SKIP = object()  # the document is not in the index (sparse, or outside its partial filter)
_KEEP_TRACKED = object()  # see _build


def find_by_ids(collection: Any, filter: Any, keys: list, skip: int, limit: int) -> list | None:
    """A find whose filter names its `_id`s, as mongomock answers it (candidates in the order
    named, its own sort keys, skip and limit), without its cursor; None when the filter names
    no `_id`s."""
    named = _by_id(filter)
    if named is None:
        return None
    ids, rest = named
    spec = helpers.patch_datetime_awareness_in_document(rest) if rest else None
    documents = documents_of(store_of(collection))
    docs = [
        doc
        for i in ids
        if (doc := documents.get(i)) is not None and (spec is None or filter_applies(spec, doc))
    ]
    for key, direction in reversed(keys):
        docs.sort(key=_resolved(key), reverse=direction < 0)
    docs = docs[skip : skip + abs(limit)] if limit else docs[skip:]
    return [answer_copy(collection, doc) for doc in docs]


def _resolved(key: str) -> Callable[[Doc], Any]:
    """A sort key as mongomock's BSON order resolves it."""
    return lambda doc: resolve_sort_key(key, doc)


def field_of(key: str) -> Callable[[Doc], Any]:
    """A sort key: the field's value (sortable() checked that the values compare)."""
    return lambda doc: doc.get(key)


def exact_ids(filter: Any) -> tuple | None:
    """The `_id`s a filter can match when it names them (`_id: x` or `_id: {$in: [...]}`, or
    so in the first clause of a top-level `$and`)."""
    named = _by_id(filter)
    return None if named is None else named[0]


def _by_id(filter: Any) -> tuple[tuple, Any] | None:
    """The `_id`s a filter names, and the rest of the filter: a document fetched from the store
    by one of them meets the `_id` condition (mongomock's `$in` costs a comparison per id)."""
    if not isinstance(filter, Mapping):
        return None
    if "_id" not in filter:
        clauses = filter.get("$and")
        if not isinstance(clauses, list) or not clauses:
            return None
        named = _by_id(clauses[0])
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


def _candidates(self: Collection, filter: Any) -> tuple[list | None, Any]:
    """The documents that may match `filter` (None: every document may), and what of the
    filter they must still pass: by `_id` from the store when the filter names the ids; else
    those whose top-level string equalities (`account_id: "..."`, `expired: False`) hold, by a
    plain comparison before mongomock's costly filter."""
    store = store_of(self)
    named = _by_id(filter)
    if named is not None:
        return [store[i] for i in named[0] if i in store], named[1]
    equal = equalities(filter)
    if not equal or store.is_empty:
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


def _iter_documents(self: Collection, filter: Any):
    docs, rest = _candidates(self, filter)
    if docs is None:
        return ORIGINAL_ITER_DOCUMENTS(self, filter)
    return (doc for doc in docs if filter_applies(rest, doc))


def _equality(condition: Any) -> str | bool | None:
    """The string or boolean a top-level condition requires the field to equal (`x` or
    `{$eq: x, ...}`). A plain `==` is looser than BSON's equality (0 == False), never
    stricter, so it only ever skips documents that cannot match."""
    if isinstance(condition, Mapping):
        condition = condition.get("$eq")
    return condition if isinstance(condition, str | bool) else None


def _index_key(index: Mapping, doc: Mapping) -> Any:
    values = []
    for field, _ in index["key"]:
        try:
            values.append(helpers.get_value_by_dot(doc, field))
        except KeyError:
            values.append(None)
    if index.get("sparse") and all(v is None for v in values):
        return _SKIP
    partial = index.get("partialFilterExpression")
    if partial is not None and not in_partial(partial, doc):
        return _SKIP
    key = tuple(values)
    hash(key)  # TypeError for arrays and sub-documents: the caller falls back
    return key


_ABSENT = object()


def in_partial(partial: Mapping, doc: Mapping) -> bool:
    """Whether `doc` is in a partial index: the service's partial filters (one top-level field,
    `$type: "string"`, `$exists`, or `$gt` a number) answered by Python (mongomock's matcher
    costs 25-35 us a document, on every insert), any other filter by mongomock."""
    simple = _simple_partial(partial, doc)
    return filter_applies(partial, doc) if simple is None else simple


def _simple_partial(partial: Mapping, doc: Mapping) -> bool | None:
    if len(partial) != 1:
        return None
    ((field, condition),) = partial.items()
    if "." in field or field.startswith("$") or not isinstance(condition, Mapping):
        return None
    if len(condition) != 1:
        return None
    ((operator, argument),) = condition.items()
    value = doc.get(field, _ABSENT)
    if isinstance(value, list):
        return None  # an array matches by its elements
    if operator == "$exists" and type(argument) is bool:
        return (value is not _ABSENT) == argument
    if operator == "$type" and argument == "string":
        return type(value) is str
    if operator == "$gt" and type(argument) is int and type(value) in (int, float):
        return bool(value > argument)
    return None  # BSON's order across types, arrays, other operators: mongomock decides


def unique_keys(collection: Any, doc: Mapping) -> set[tuple[str, Any]]:
    """(index name, key) for each unique index besides `_id` that `doc` is in."""
    keys = set()
    for name, index in indexes_of(store_of(collection)).items():
        if not index.get("unique") or name == "_id_":
            continue
        try:
            key = _index_key(index, doc)
        except TypeError:
            key = repr(_index_values(index, doc))  # arrays, sub-documents: compared as text
        if key is not _SKIP:
            keys.add((name, key))
    return keys


def _index_values(index: Mapping, doc: Mapping) -> list:
    values = []
    for field, _ in index["key"]:
        try:
            values.append(helpers.get_value_by_dot(doc, field))
        except KeyError:
            values.append(None)
    return values


def _ensure_uniques(self: Collection, new_data: Mapping) -> None:
    """Run by mongomock after every insert and every update that changes a document (it is
    already in the store): the unique checks, then the equality buckets learn its values."""
    _check_uniques(self, new_data)
    remember(store_of(self), new_data)


def _check_uniques(self: Collection, new_data: Mapping) -> None:
    """mongomock's unique-index check (the new document is already in the store), answered from
    a map of each unique index's keys to the document that holds them. An entry is trusted only
    after checking that its document still exists and still holds the key, so documents
    deleted or changed behind the map's back never make a false duplicate."""
    store = store_of(self)
    doc_id = new_data.get("_id")
    if not plain_id(doc_id):
        return ORIGINAL_ENSURE_UNIQUES(self, new_data)
    caches: dict = private_state(store).setdefault(_CACHE, {})
    for name, index in indexes_of(store).items():
        if not index.get("unique"):
            continue
        try:
            key = _index_key(index, new_data)
            if key is _SKIP:
                continue
            seen = caches.get(name)
            if seen is None:
                seen = caches[name] = _build(store, index, doc_id)
        except TypeError:
            return ORIGINAL_ENSURE_UNIQUES(self, new_data)
        holder = seen.get(key)
        if holder is not None and holder != doc_id and holder in store:
            try:
                held = _index_key(index, store[holder])
            except TypeError:
                held = _SKIP
            if held == key:
                raise DuplicateKeyError("E11000 Duplicate Key Error", 11000)
        seen[key] = doc_id
    return None


def _build(store: Any, index: Mapping, new_id: Any) -> dict:
    """The first check of an index reads the store once; later ones keep the map current.

    The map holds one list, so the garbage collector always tracks it: a dict of tuples only
    is untracked by each full collection, and the next new key (a tuple, tracked while new)
    tracks it again in the youngest generation, which every young collection then walks: 8 to
    10 ms each at 50,000 keys. Always tracked, it ages, and freezing takes it for good."""
    seen: dict = {_KEEP_TRACKED: []}
    for doc in store.documents:
        if doc.get("_id") == new_id:
            continue
        key = _index_key(index, doc)
        if key is not _SKIP:
            seen[key] = doc["_id"]
    return seen


def _get_dataset(self: Collection, spec: Any, sort: Any, fields: Any, as_class: Any):
    """mongomock filters every candidate, then sorts through its BSON comparison (a Python call
    per comparison). When every candidate has a value of one plain type for each sort key,
    Python's own order is the same: sort the candidates so, then filter lazily, so that a
    cursor with a limit filters and copies little more than it returns."""
    keys = list(sort.items() if isinstance(sort, Mapping) else sort or [])
    if not keys or any(not isinstance(k, str) or k.startswith("$") or "." in k for k, _ in keys):
        return ORIGINAL_GET_DATASET(self, spec, sort, fields, as_class)
    docs, rest = _candidates(self, spec)
    filtered = docs is None
    if docs is None:
        docs = list(ORIGINAL_ITER_DOCUMENTS(self, spec))
    if not sortable(docs, keys):
        return ORIGINAL_GET_DATASET(self, spec, sort, fields, as_class)
    for key, direction in reversed(keys):
        docs.sort(key=field_of(key), reverse=direction < 0)
    return (
        internals.copy_only_fields(self, doc, fields, as_class)
        for doc in docs
        if filtered or filter_applies(rest, doc)
    )


def _find_one(self: Collection, filter: Any = None, *args: Any, **kwargs: Any) -> Any:
    """mongomock's find_one copies every match to return the first: ask for one."""
    if len(args) < 3:
        kwargs.setdefault("limit", 1)
    return ORIGINAL_FIND_ONE(self, filter, *args, **kwargs)


def stored_match(collection: Any, filter: Any) -> Any:
    """The stored document a filter naming one `_id` matches (None: none does), for the
    journal to copy before a write; NotImplemented when the filter names no single `_id`."""
    named = _by_id(filter)
    if named is None or len(named[0]) != 1:
        return NotImplemented
    doc = documents_of(store_of(collection)).get(named[0][0])
    rest = named[1]  # what the filter asks besides the `_id` (a guard), if anything
    if doc is None or (
        rest and not filter_applies(helpers.patch_datetime_awareness_in_document(rest), doc)
    ):
        return None
    return doc


def install() -> bool:
    """Put the fast paths on mongomock's collections (False: an untested version, left off)."""
    return internals.install(
        iter_documents=_iter_documents,
        ensure_uniques=_ensure_uniques,
        find_one=_find_one,
        get_dataset=_get_dataset,
        patch_datetimes=patch_datetimes,
        copy_module=CopyModule,
    )
