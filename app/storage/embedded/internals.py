"""Every private name of mongomock and pymongo the embedded engine uses, in this one module,
behind a version check. With the versions it was written against (`TESTED`) the engine reads
and swaps mongomock's stored documents in place and puts its two speed-ups on mongomock's
collections (see `install`). With any other version nothing private is touched: the engine
does the same through mongomock's own public collection methods (each a scan of the
collection: correct, slower at volume), and the speed-ups stay off, with a warning."""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from collections.abc import Callable, Mapping
from typing import Any

from app.storage.documents import Doc
from app.storage.embedded.copies import copy_document

log = logging.getLogger("app.storage.embedded")

# The releases whose internals this module names (prefixes of their versions).
TESTED = {"mongomock": "4.3.", "mongomock-motor": "0.0.3", "pymongo": "4."}


@functools.cache  # installed versions do not change in a process; each engine asks
def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def untested() -> list[str]:
    """The installed packages whose version this module was not written against."""
    return [
        f"{package} {_version(package)} (tested: {prefix}x)"
        for package, prefix in TESTED.items()
        if not _version(package).startswith(prefix)
    ]


def _private_names() -> Any:
    """mongomock's modules whose private names the tested versions have, or None."""
    if untested():
        return None
    try:
        from mongomock import collection, filtering, helpers

        return collection, filtering, helpers
    except ImportError:  # pragma: no cover - a tested version has them
        return None


_PRIVATE = _private_names()
# Whether the private paths are on: decided once, at import, from the installed versions.
PRIVATE = _PRIVATE is not None
if not PRIVATE:
    log.warning(
        "embedded engine: untested %s; using mongomock's public paths only (slower at volume)",
        ", ".join(untested()) or "mongomock layout",
    )


# --- the stored documents: in place (tested versions), or through mongomock's public API ---


def stored(raw: Any, doc_id: Any) -> Doc | None:
    """The document stored under `doc_id` (the stored object itself on the private path: read
    it, never change it; a copy on the public one)."""
    if PRIVATE:
        return raw._store._documents.get(doc_id)
    return raw.find_one({"_id": doc_id})


def put(raw: Any, doc_id: Any, doc: Doc | None, remember: Callable[[Any, Doc], None]) -> None:
    """Store `doc` under `doc_id` as it is (None: remove it), for one read's view of the store;
    `remember` keeps the speed-up's buckets told (private path only)."""
    if PRIVATE:
        docs = raw._store._documents
        if doc is None:
            docs.pop(doc_id, None)
        else:
            docs[doc_id] = doc
            remember(raw._store, doc)
    elif doc is None:
        raw.delete_one({"_id": doc_id})
    else:
        raw.replace_one({"_id": doc_id}, doc, upsert=True)


def only_document(raw: Any) -> Doc:
    """The one document of a scratch collection."""
    if PRIVATE:
        (doc,) = raw._store._documents.values()
        return doc
    found = raw.find_one({})
    assert found is not None
    return found


def indexes(raw: Any) -> Mapping[str, Mapping[str, Any]]:
    """The collection's indexes by name: `key` (a list of (field, direction)), `unique`..."""
    return indexes_of(raw._store) if PRIVATE else raw.index_information()


def matches(filter: Mapping[str, Any], doc: Doc, scratch: Any) -> bool:
    """Whether `doc` matches `filter`, as mongomock decides (a partial index's filter): its own
    matcher, or, on the public path, a find in a scratch collection holding only `doc`."""
    if PRIVATE:
        _, filtering, helpers = _PRIVATE
        return filtering.filter_applies(helpers.patch_datetime_awareness_in_document(filter), doc)
    scratch.delete_many({})
    scratch.insert_one(dict(doc))
    return scratch.find_one(filter) is not None


def results(cursor: Any) -> list[Doc]:
    """A mongomock cursor's documents, its skip and limit applied, in one list: iterated, it
    copies the rest of its results at every step (quadratic: one read of 50,000 ledger
    entries took 20 s, 2.3 s at 20,000)."""
    if PRIVATE:
        return list(cursor._compute_results(with_limit_and_skip=True))
    return list(cursor)


def update_found(raw: Any, found: list[tuple[Doc, Doc | None]], spec: Doc, update: Doc) -> dict:
    """mongomock's `update_many(spec, update)` (no upsert) of the stored documents its filter
    matches, which the caller found (each with a copy of it as it is now, or None): the same
    checks, changes, unique-index check, rollback and result, without filtering the documents
    again, and without its deep copy of each one where the caller has a copy (the engine's
    journal: it is only compared with, never stored)."""
    module, _, helpers = _PRIVATE
    module.validate_ok_for_update(update)
    spec = helpers.patch_datetime_awareness_in_document(spec)
    update = helpers.patch_datetime_awareness_in_document(update)
    if raw.database.client.server_info()["versionArray"] < [5]:
        for operator in module._updaters:
            if not update.get(operator, True):
                raise module.WriteError(
                    f"'{operator}' is empty. You must specify a field like so: "
                    f"{{{operator}: {{<field>: ...}}}}"
                )
    modified = 0
    for doc, as_found in found:
        snapshot = copy_document(doc) if as_found is None else as_found
        raw._apply_update_document(doc, spec, update, False)
        if doc == snapshot:
            continue
        if snapshot.get("_id") != doc.get("_id"):
            raw._store[snapshot["_id"]] = copy_document(snapshot)
            raise module.WriteError(
                "After applying the update, the (immutable) field '_id' was found to have "
                "been altered to _id: {}".format(doc.get("_id"))
            )
        try:
            raw._ensure_uniques(doc)
        except module.DuplicateKeyError:
            raw._store[snapshot["_id"]] = copy_document(snapshot)
            raise
        modified += 1
    return {
        "connectionId": raw.database.client._id,
        "err": None,
        "n": len(found),
        "nModified": modified,
        "ok": 1,
        "upserted": None,
        "updatedExisting": bool(found),
    }


def update_one_parts(request: Any) -> tuple[Any, Any]:
    """The filter and the update of a pymongo UpdateOne (pymongo keeps both private; they are
    its constructor's first two arguments in every 3.x and 4.x release)."""
    return request._filter, request._doc


# --- what the speed-ups need of mongomock (tested versions only) -------------------------


def store_of(raw: Any) -> Any:
    return raw._store


def documents_of(store: Any) -> dict:
    """The store's own map of `_id` to stored document (no TTL index is ever declared, so
    nothing expires behind it)."""
    return store._documents


def indexes_of(store: Any) -> dict:
    """The store's indexes by name, each with its `key` as a list of (field, direction)."""
    return store.indexes


def live_documents(store: Any) -> list:
    """The store's documents without its reader lock (the engine runs on one thread), through
    dict's own values: the OrderedDict's walk of its links costs a lookup per document."""
    return list(dict.values(store._documents))


def private_state(store: Any) -> dict:
    """Where the speed-ups keep their maps beside a store (buckets, unique keys)."""
    return store.__dict__


def filter_applies(filter: Any, doc: Mapping[str, Any]) -> bool:
    """mongomock's matcher, on a filter already patched as mongomock patches it."""
    return _PRIVATE[1].filter_applies(filter, doc)


def patched_filter(filter: Any) -> Any:
    """A filter as mongomock patches it before matching (naive UTC datetimes)."""
    return _PRIVATE[2].patch_datetime_awareness_in_document(filter)


def install(*, iter_documents: Callable, ensure_uniques: Callable, insert: Callable) -> bool:
    """Put the speed-ups on mongomock's collections (idempotent; mongomock-motor wraps the
    methods per collection when it creates one, so this runs before any is created): what a
    query may match is narrowed before mongomock's filter (`_iter_documents`), and a unique
    index is checked from a map instead of a scan of every document (`_ensure_uniques`), and
    a plain document is inserted in one walk of it (`_insert`).
    False, and mongomock left as it is, on a version this module was not written against."""
    if not PRIVATE:
        return False
    collection = _PRIVATE[0].Collection
    for name, replacement in (
        ("_iter_documents", iter_documents),
        ("_ensure_uniques", ensure_uniques),
        ("_insert", insert),
    ):
        if not hasattr(collection, f"_original{name}"):
            setattr(collection, f"_original{name}", getattr(collection, name))
        setattr(collection, name, replacement)
    return True


def insert_one(raw: Any, doc: Doc) -> None:
    """mongomock's `insert_one(doc)`, without its check that a dict is a mutable mapping (an
    ABC instance check on every document, and a result nobody reads) when it is a plain
    dict: about 0.3 to 0.6 us of an insert of 9 to 15 us."""
    if PRIVATE and type(doc) is dict:
        raw._insert(doc, None)
    else:
        raw.insert_one(doc)


def encode_checked(doc: Doc) -> None:
    """What mongomock does to a document it inserts besides its own checks: BSON-encode it
    (InvalidDocument for a value BSON cannot hold)."""
    _PRIVATE[0].BSON.encode(doc, check_keys=False)


def install_datetimes(
    naive: Callable[[Callable], Callable], aware: Callable[[Callable, Any], Callable]
) -> bool:
    """Put datetimes.py's walks in place of mongomock's helpers (each wraps the original it
    falls back to; idempotent). False, and mongomock left as it is, on an untested version."""
    if not PRIVATE:
        return False
    helpers = _PRIVATE[2]
    for name, make in (
        ("patch_datetime_awareness_in_document", naive),
        ("make_datetime_timezone_aware_in_document", lambda f: aware(f, helpers.utc)),
    ):
        own = getattr(helpers, f"_original_{name}", None) or getattr(helpers, name)
        setattr(helpers, f"_original_{name}", own)
        setattr(helpers, name, make(own))
    return True


def original(name: str) -> Callable:
    """mongomock's own method that a speed-up replaced (it falls back to it)."""
    collection = _PRIVATE[0].Collection
    return getattr(collection, f"_original{name}", getattr(collection, name))
