"""Every private internal of mongomock and pymongo the embedded engine touches, in this one
module, behind a version check: the versions the engine was written and tested against. With
any other version the fast paths are left off (mongomock answers alone, slower), and the
engine's transactions, which must see the stored documents, refuse to start with a message
that says why."""

from __future__ import annotations

import importlib.metadata
import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import mongomock
from mongomock import collection as mongomock_collection
from mongomock import helpers
from mongomock.collection import Collection, Cursor
from pymongo import UpdateOne

from app.storage.documents import Doc

log = logging.getLogger("app.storage.embedded")

# The releases whose internals this module names (prefixes of their versions).
TESTED = {"mongomock": "4.3.", "mongomock-motor": "0.0.3", "pymongo": "4."}


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return str(getattr(mongomock, "__version__", "?")) if package == "mongomock" else "?"


def untested() -> list[str]:
    """The installed packages whose version this module was not written against."""
    return [
        f"{package} {_version(package)} (tested: {prefix}x)"
        for package, prefix in TESTED.items()
        if not _version(package).startswith(prefix)
    ]


def require_tested_versions() -> None:
    """The engine's transactions read and swap stored documents: refuse other versions."""
    if wrong := untested():
        raise RuntimeError(
            "the embedded engine needs the versions it was tested with: "
            + ", ".join(wrong)
            + " (install requirements/dev.lock, or set MONGODB_URI)"
        )


# --- mongomock's store -------------------------------------------------------------------


def store_of(collection: Any) -> Any:
    """The collection store behind a mongomock(-motor) collection."""
    return collection._store


def documents_of(store: Any) -> OrderedDict:
    """The store's own map of `_id` to stored document (no TTL index is ever declared, so
    nothing expires behind it)."""
    return store._documents


def live_documents(store: Any) -> list:
    """The store's documents without its reader lock (a generator per document): the engine
    runs on one thread. Through dict's own values: the OrderedDict's walk of its links costs
    a lookup per document (5 ms at 50,000), and mongomock never reorders it."""
    store._remove_expired_documents()
    return list(dict.values(store._documents))


def private_state(store: Any) -> dict:
    """Where the engine keeps its own maps beside a store (buckets, unique keys)."""
    return store.__dict__


def indexes_of(store: Any) -> dict:
    return store.indexes


def copy_only_fields(collection: Collection, doc: Doc, fields: Any, as_class: Any) -> Doc:
    return collection._copy_only_fields(doc, fields, as_class)


def update_one_parts(request: UpdateOne) -> tuple[Any, Any]:
    """The filter and the update of a pymongo UpdateOne (kept private by pymongo)."""
    return request._filter, request._doc


# --- mongomock's collection methods the fast paths replace ----------------------------------

ORIGINAL_ITER_DOCUMENTS = Collection._iter_documents
ORIGINAL_ENSURE_UNIQUES = Collection._ensure_uniques
ORIGINAL_FIND_ONE = Collection.find_one
ORIGINAL_GET_DATASET = Collection._get_dataset
ORIGINAL_COMPUTE_RESULTS = Cursor._compute_results
ORIGINAL_PATCH_DATETIMES = helpers.patch_datetime_awareness_in_document


def limited_results(cursor: Cursor, with_limit_and_skip: bool = False) -> list:
    """A cursor with a limit copies only the documents it returns (mongomock copies every
    match, then cuts): a ledger page costs its page, not the account's whole history."""
    if not with_limit_and_skip or not cursor._limit or cursor._results:
        return ORIGINAL_COMPUTE_RESULTS(cursor, with_limit_and_skip)
    cached = cursor.__dict__.get("_limited")
    if cached is not None and cached[0] is cursor._factory:
        return cached[1]
    docs = list(itertools.islice(cursor._factory(), cursor._skip + abs(cursor._limit)))
    if cursor.collection.codec_options.tz_aware:
        docs = [helpers.make_datetime_timezone_aware_in_document(doc) for doc in docs]
    results = docs[cursor._skip :]
    cursor.__dict__["_limited"] = (cursor._factory, results)
    return results


def install(
    *,
    iter_documents: Callable,
    ensure_uniques: Callable,
    find_one: Callable,
    get_dataset: Callable,
    patch_datetimes: Callable,
    copy_module: Any,
) -> bool:
    """Put the fast paths on mongomock's collections (idempotent; mongomock-motor wraps the
    methods per collection when it creates one, so this runs before any is created). False,
    and mongomock left as it is, on a version this module was not written against."""
    if wrong := untested():
        log.warning("embedded engine fast paths off: %s", ", ".join(wrong))
        return False
    # setattr: replacing a library's functions and methods is what this does, on purpose.
    for owner, name, replacement in (
        (helpers, "patch_datetime_awareness_in_document", patch_datetimes),
        (mongomock_collection, "copy", copy_module),
        (Collection, "_iter_documents", iter_documents),
        (Collection, "_ensure_uniques", ensure_uniques),
        (Collection, "find_one", find_one),
        (Collection, "_get_dataset", get_dataset),
        (Cursor, "_compute_results", limited_results),
    ):
        setattr(owner, name, replacement)
    return True
