"""The embedded engine's unique-index check (mongomock's `_ensure_uniques`, run after every
insert and every update that changes a document): answered from a map of each unique index's
keys to the document holding them instead of a scan of the collection per index, with each
index's key and partial filter compiled once per definition. See docs/design.md, "The
embedded engine at volume". A real server is not touched by any of this."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.storage.embedded import internals
from app.storage.embedded.buckets import plain_id
from app.storage.embedded.internals import (
    documents_of,
    indexes_of,
    live_documents,
    private_state,
    store_of,
)

_COMPILED = "_credit_ledger_unique_indexes"
_SKIP = object()  # the document is not in the index (sparse, or outside its partial filter)
_KEEP_TRACKED = object()  # see _build
_ABSENT = object()


def value_at(doc: Mapping, path: str) -> Any:
    """The value at a dotted path (None when a part is missing), as an index key reads it."""
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def in_partial(partial: Mapping, doc: Mapping) -> bool:
    """Whether `doc` is in a partial index: the service's partial filters (one top-level field,
    `$type: "string"`, `$exists`, or `$gt` a number) answered by Python (mongomock's matcher
    costs 25-35 us a document, on every insert), any other filter by mongomock. Compiled once
    per definition (mongomock's own dict: replaced, never changed in place)."""
    known = _PARTIAL_TESTS.get(id(partial))
    if known is None or known[0] is not partial:
        if len(_PARTIAL_TESTS) >= 256:  # databases come and go (one per test): start again
            _PARTIAL_TESTS.clear()
        known = _PARTIAL_TESTS[id(partial)] = (partial, _partial_test(partial))
    return known[1](doc)


# id(definition) -> (the definition, kept alive so that its id is not reused; its test).
_PARTIAL_TESTS: dict[int, tuple[Mapping, Callable[[Mapping], bool]]] = {}


class _Unique:
    """One unique index as its check uses it, compiled from its definition: the document's key
    in it (`_SKIP`: not in it), and the map of the keys held (None until the first check)."""

    __slots__ = ("definition", "key_of", "seen")

    def __init__(self, definition: Mapping) -> None:
        self.definition = definition  # mongomock's own dict: replaced, never changed in place
        self.key_of = _key_function(definition)
        self.seen: dict | None = None


# The values whose Python equality is BSON's (a boolean equals 1 in Python, not in BSON; an
# array matches by its elements): a key holding anything else is left to mongomock's scan.
_KEYABLE = frozenset({str, int, float, type(None), datetime, ObjectId, bytes})


def _key_function(index: Mapping) -> Callable[[Mapping], Any]:
    """The key of a document in `index` as a tuple (TypeError when a value is not `_KEYABLE`,
    or a path goes through an array: the caller falls back to mongomock's scan), `_SKIP` when
    the document is outside the index."""
    paths = [field for field, _ in index["key"]]
    values = _values_function(paths)
    sparse = bool(index.get("sparse"))
    partial = index.get("partialFilterExpression")
    in_index = None if partial is None else _partial_test(partial)

    def key_of(doc: Mapping) -> Any:
        key = values(doc)
        if sparse and all(v is None for v in key):
            return _SKIP
        if in_index is not None and not in_index(doc):
            return _SKIP
        for value in key:
            if type(value) not in _KEYABLE:
                raise TypeError("a key the map does not compare as BSON does")
        return key

    return key_of


def _values_function(paths: list[str]) -> Callable[[Mapping], tuple]:
    """The values at `paths` (as `value_at` reads them), with each path split once."""
    if any("." in path for path in paths):
        split = [tuple(path.split(".")) for path in paths]
        return lambda doc: tuple([_value_at_parts(doc, parts) for parts in split])
    if len(paths) == 1:
        (only,) = paths
        return lambda doc: (doc.get(only),)
    if len(paths) == 2:
        first, second = paths
        return lambda doc: (doc.get(first), doc.get(second))
    return lambda doc: tuple([doc.get(path) for path in paths])


def _value_at_parts(doc: Mapping, parts: tuple[str, ...]) -> Any:
    value: Any = doc
    for part in parts:
        if isinstance(value, list):
            raise TypeError("a path through an array matches by its elements")
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _partial_test(partial: Mapping) -> Callable[[Mapping], bool]:
    """Whether a document is in the partial index: Python's answer where it is BSON's, else
    mongomock's matcher on the filter patched once."""
    simple = _simple_test(partial)
    patched = internals.patched_filter(partial)

    def by_mongomock(doc: Mapping) -> bool:
        return internals.filter_applies(patched, doc)

    if simple is None:
        return by_mongomock

    def test(doc: Mapping) -> bool:
        answer = simple(doc)
        return by_mongomock(doc) if answer is None else answer

    return test


def _simple_test(partial: Mapping) -> Callable[[Mapping], bool | None] | None:
    """The Python test of a filter of one top-level field with one condition (None: another
    shape); the test answers None where BSON's order or an array needs mongomock's matcher."""
    if len(partial) != 1:
        return None
    ((field, condition),) = partial.items()
    if "." in field or field.startswith("$") or not isinstance(condition, Mapping):
        return None
    if len(condition) != 1:
        return None
    ((operator, argument),) = condition.items()
    if operator == "$exists" and type(argument) is bool:
        return lambda doc: _unless_array(doc, field) and (field in doc) == argument

    if operator == "$type" and argument == "string":
        return lambda doc: _unless_array(doc, field) and type(doc.get(field)) is str

    if operator == "$gt" and type(argument) is int:

        def greater(doc: Mapping) -> bool | None:
            value = doc.get(field, _ABSENT)
            if type(value) in (int, float):
                return bool(value > argument)
            return None  # BSON's order across types, arrays: mongomock decides

        return greater
    return None


def _unless_array(doc: Mapping, field: str) -> bool | None:
    """None when the field holds an array (it matches by its elements), else True."""
    return None if isinstance(doc.get(field), list) else True


def _compiled(store: Any) -> list[_Unique]:
    """The store's unique indexes, compiled: an index created, dropped or made again under the
    same name is compiled afresh (and its map built again) at the next check."""
    indexes = indexes_of(store)
    state = private_state(store)
    compiled: dict[str, _Unique] = state.setdefault(_COMPILED, {})
    uniques = []
    for name, index in indexes.items():
        if not index.get("unique"):
            continue
        unique = compiled.get(name)
        if unique is None or unique.definition is not index:
            unique = compiled[name] = _Unique(index)
        uniques.append(unique)
    return uniques


def check_uniques(self: Any, new_data: Mapping) -> None:
    """mongomock's unique-index check (the new document is already in the store), answered from
    a map of each unique index's keys to the document that holds them. An entry is trusted only
    after checking that its document still exists and still holds the key, so documents
    deleted or changed behind the map's back never make a false duplicate."""
    store = store_of(self)
    doc_id = new_data.get("_id")
    if not plain_id(doc_id):
        return internals.original("_ensure_uniques")(self, new_data)
    uniques = _compiled(store)
    for unique in uniques:
        try:
            key = unique.key_of(new_data)
            if key is _SKIP:
                continue
            seen = unique.seen
            if seen is None:
                seen = unique.seen = _build(store, unique.key_of, doc_id)
        except TypeError:
            for each in uniques:  # none of the maps learns this document: built again
                each.seen = None
            return internals.original("_ensure_uniques")(self, new_data)
        holder = seen.get(key)
        held_by = None if holder is None or holder == doc_id else documents_of(store).get(holder)
        if held_by is not None:
            try:
                held = unique.key_of(held_by)
            except TypeError:
                held = _SKIP
            if held == key:
                raise DuplicateKeyError("E11000 Duplicate Key Error", 11000)
        seen[key] = doc_id
    return None


def _build(store: Any, key_of: Callable[[Mapping], Any], new_id: Any) -> dict:
    """The first check of an index reads the store once; later ones keep the map current.

    The map holds one list, so the garbage collector always tracks it: a dict of tuples only
    is untracked by each full collection, and the next new key (a tuple, tracked while new)
    tracks it again in the youngest generation, which every young collection then walks: 8 to
    10 ms each at 50,000 keys. Always tracked, it ages, and freezing takes it for good."""
    seen: dict = {_KEEP_TRACKED: []}
    for doc in live_documents(store):
        if doc.get("_id") == new_id:
            continue
        key = key_of(doc)
        if key is not _SKIP:
            seen[key] = doc["_id"]
    return seen
