"""Copies for the embedded engine: what mongomock answers for a stored document, and the
copies it (and the journal) make, without copy.deepcopy, plus mongomock's datetime patching
by exact type first. Same values and types as mongomock's own, measured on the debit path:
see design.md, "The embedded engine at volume"."""

from __future__ import annotations

import copy
from collections import OrderedDict
from datetime import datetime
from typing import Any

from bson import ObjectId
from mongomock import helpers

from app.storage.documents import Doc
from app.storage.embedded.internals import ORIGINAL_PATCH_DATETIMES

_UNCHANGED = frozenset({str, int, float, bool, type(None), bytes, ObjectId})


def answer_copy(collection: Any, stored: Doc) -> Doc:
    """What mongomock answers for a stored document: a copy of its dicts and lists, with UTC
    datetimes when the client is tz_aware."""
    if collection.codec_options.tz_aware:
        return helpers.make_datetime_timezone_aware_in_document(stored)
    return copy_document(stored)


def copy_document(value: Any) -> Any:
    """copy.deepcopy of a document, which costs several times more (a datetime goes through its
    pickling protocol): plain dicts and lists are copied, immutable values (strings, numbers,
    datetimes, ObjectIds, bytes) shared, and anything else deep-copied."""
    kind = type(value)
    if kind is dict:
        return {k: copy_document(v) for k, v in value.items()}
    if kind is list:
        return [copy_document(v) for v in value]
    if kind is OrderedDict:  # how mongomock stores a document it updated
        return OrderedDict((k, copy_document(v)) for k, v in value.items())
    if kind in _UNCHANGED or kind is datetime:
        return value
    return copy.deepcopy(value)


def patch_datetimes(value: Any) -> Any:
    """mongomock's patch_datetime_awareness_in_document (a copy of a document or filter with
    naive UTC datetimes at millisecond precision), run on every document written and every
    filter: plain dicts, lists and scalars by exact type first, anything else by mongomock's
    own. The same answer without its chain of isinstance checks at every level."""
    kind = type(value)
    if kind in _UNCHANGED:
        return value
    if kind is dict:
        return {k: patch_datetimes(v) for k, v in value.items()}
    if kind is list:
        return [patch_datetimes(v) for v in value]
    return ORIGINAL_PATCH_DATETIMES(value)


class CopyModule:
    """The `copy` module as mongomock's collection module sees it: its deep copies (a snapshot
    of every document it updates, to compare and roll back) are copy_document's."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return copy_document(value)
