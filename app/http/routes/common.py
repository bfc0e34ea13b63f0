"""Pieces every router shares: the router itself, path types, the Idempotency-Key header,
replayable answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse

from app.http.api_route import ApiRoute
from app.kit.errors import MissingIdempotencyKey
from app.ledger.idempotency import Outcome, check_caller_key
from app.ledger.schemas import ACCOUNT_ID_PATTERN


def api_router(**options: Any) -> APIRouter:
    """A router of the API: its operations refuse query parameters they do not declare."""
    return APIRouter(route_class=ApiRoute, **options)


AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, description="the product's id")]
ReservationId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_]{1,64}$")]
GrantId = Annotated[str, Path(pattern=r"^gr_[0-9a-f]{24}$", description="the grant's id")]
# Every list's page size: 1 to 100 (each list says its default, 20).
PageSize = Annotated[int, Query(ge=1, le=100)]


async def _idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str:
    if key is None:
        raise MissingIdempotencyKey("this request needs an Idempotency-Key header")
    return check_caller_key(key)


IdempotencyKey = Annotated[str, Depends(_idempotency_key)]


async def _optional_idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str | None:
    return None if key is None else await _idempotency_key(key)


# For writes that set values (repeating them is harmless): a key is honoured when sent.
OptionalIdempotencyKey = Annotated[str | None, Depends(_optional_idempotency_key)]


def replayable(outcome: Outcome) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
