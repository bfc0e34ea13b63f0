"""Equality buckets for the embedded engine: for the fields that lead an index of the
collection (what its queries filter by equality), a map from each value to the `_id`s of the
documents holding it, kept by every write, so that a query by account (or by
`dispatched: false`) costs the documents it may match, not the collection. No field name of
the service is written here: the declared indexes say which. See design.md, "The embedded
engine at volume". A real server is not touched by any of this."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from app.storage.embedded.internals import (
    documents_of,
    indexes_of,
    live_documents,
    private_state,
)

_BUCKETS = "_credit_ledger_buckets"
_MIXED = object()  # a field whose bucket cannot answer (a document holds an array there)


def bucketed(store: Any) -> set[str]:
    """The fields whose equality finds its documents in a bucket: the first field of each
    index but `_id` (a handful of indexes: worked out per query, never stale)."""
    return {index["key"][0][0] for index in indexes_of(store).values()} - {"_id"}


def all_documents(store: Any) -> list:
    """Every stored document, in the store's order."""
    return live_documents(store)


def bucket(store: Any, field: str, value: str | bool) -> list | None:
    """The documents that hold `value` in `field`, from the field's bucket (None: the field has
    none). An `_id` is kept until a read finds its document gone or holding another value; a
    write that gives a document the value again puts it back (see `remember`)."""
    if field not in bucketed(store):
        return None
    buckets: dict = private_state(store).setdefault(_BUCKETS, {})
    values = buckets.get(field)
    if values is None:
        values = buckets[field] = _fill(store, field)
    if values is _MIXED:
        return None
    ids = values.get(value)
    if not ids:
        return []
    docs, documents = [], documents_of(store)
    for doc_id in list(ids):
        doc = documents.get(doc_id)
        if doc is None or doc.get(field) != value or type(doc.get(field)) is not type(value):
            del ids[doc_id]
        else:
            docs.append(doc)
    return docs


def bucket_size(store: Any, equal: list[tuple[str, str | bool]]) -> int | None:
    """How many documents (at most) the first bucketed equality leaves (None: none is)."""
    buckets: dict = private_state(store).get(_BUCKETS, {})
    fields = bucketed(store)
    for field, value in equal:
        values = buckets.get(field)
        if field in fields and values is None:  # never asked yet: filled now
            found = bucket(store, field, value)
            if found is not None:
                return len(found)
        elif values is not None and values is not _MIXED:
            return len(values.get(value, ()))
    return None


def _fill(store: Any, field: str) -> Any:
    values: dict = {}
    for doc in all_documents(store):
        if _add(values, field, doc) is _MIXED:
            return _MIXED
    return values


def _add(values: dict, field: str, doc: Mapping) -> Any:
    value = doc.get(field)
    if isinstance(value, str | bool):
        values.setdefault(value, {})[doc["_id"]] = None
    elif isinstance(value, list | Mapping):
        return _MIXED  # an array may hold the value: the field's bucket can no longer answer
    return values


def remember(store: Any, doc: Mapping) -> None:
    """Put a document just inserted or changed in the bucket of each of its values (run by
    mongomock's unique-index check, which every insert and every changing update calls)."""
    buckets: dict | None = private_state(store).get(_BUCKETS)
    if not buckets or not plain_id(doc.get("_id")):
        if buckets:
            buckets.clear()  # an _id a bucket cannot hold: they are filled again when asked
        return
    for field, values in buckets.items():
        if values is not _MIXED and _add(values, field, doc) is _MIXED:
            buckets[field] = _MIXED


def plain_id(value: Any) -> bool:
    return isinstance(value, str | ObjectId) or (type(value) is int)
