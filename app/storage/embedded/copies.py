"""Copies of stored documents for the embedded engine's journal (what a unit's write replaced):
plain dicts and lists copied, immutable values shared, anything else deep-copied."""

from __future__ import annotations

import copy
from collections import OrderedDict
from datetime import datetime
from typing import Any

from bson import ObjectId

_UNCHANGED = frozenset({str, int, float, bool, type(None), bytes, ObjectId, datetime})


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
    if kind in _UNCHANGED:
        return value
    return copy.deepcopy(value)
