"""Stored documents as API objects: a document's fields carry the API's names (but `_id`), so
one function reads them for every view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

V = TypeVar("V", bound=BaseModel)


def view_of(model: type[V], doc: Mapping[str, Any], **given: Any) -> V:
    """`model` from a stored document: `id` its `_id`, each other field the document's field of
    the same name (None when absent); `given` for the fields the API shows otherwise."""
    values = {name: doc.get(name) for name in model.model_fields if name not in given}
    values["id"] = doc["_id"]
    return model(**values, **given)
