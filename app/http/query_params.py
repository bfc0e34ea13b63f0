"""Query parameters a /v1 operation does not declare are refused (422), as the OpenAPI
document implies: a mistyped `limt=5` would otherwise be ignored and the caller never know."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.kit.errors import ValidationFailed

_declared: dict[int, frozenset[str]] = {}  # per route, worked out on its first request


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def refuse_unknown_query_parameters(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.path.startswith("/v1/"):
        return  # the API's operations; probes, the console and the docs take what they take
    known = _declared.get(id(route))
    if known is None:
        known = _declared[id(route)] = frozenset(_query_names(route.dependant))
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        raise ValidationFailed(
            f"query.{unknown[0]}: not a parameter of this operation",
            errors=[
                {
                    "loc": ["query", name],
                    "msg": "not a parameter of this operation",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ],
        )
