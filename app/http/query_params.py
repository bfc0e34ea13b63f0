"""Query parameters a /v1 operation does not declare are refused (422), as the OpenAPI
document implies: a mistyped `limt=5` would otherwise be ignored and the caller never know.
So is a parameter given twice that takes one value (`?q=a&q=b`): which one would count is
not the caller's to guess."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from fastapi.dependencies.models import Dependant
from starlette.datastructures import QueryParams

from app.kit.errors import ValidationFailed


@dataclass(frozen=True)
class Declared:
    names: frozenset[str]
    many: frozenset[str]  # those that take a list (none today)


def _takes_many(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_takes_many(arg) for arg in get_args(annotation))
    return (origin or annotation) in (list, tuple, set, frozenset)


def _query_fields(dependant: Dependant) -> dict[str, bool]:
    """Each query parameter's name, and whether it takes a list."""
    fields = {f.alias: _takes_many(f.field_info.annotation) for f in dependant.query_params}
    for sub in dependant.dependencies:
        fields |= _query_fields(sub)
    return fields


def declared_by(dependant: Dependant) -> Declared:
    """The query parameters an operation declares (its own and its dependencies')."""
    fields = _query_fields(dependant)
    return Declared(frozenset(fields), frozenset(name for name, many in fields.items() if many))


def refuse_undeclared(declared: Declared, given: QueryParams) -> None:
    unknown = sorted({name for name in given if name not in declared.names})
    if unknown:
        _refuse(unknown, "not a parameter of this operation", "extra_forbidden")
    repeated = sorted(
        {name for name in given if name not in declared.many and len(given.getlist(name)) > 1}
    )
    if repeated:
        _refuse(repeated, "given more than once; it takes one value", "repeated")


def _refuse(names: list[str], msg: str, kind: str) -> None:
    raise ValidationFailed(
        f"query.{names[0]}: {msg}",
        errors=[{"loc": ["query", name], "msg": msg, "type": kind} for name in names],
    )
