"""Outgoing events, pulled: the event list."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.http.auth import ReadCaller
from app.http.deps import EventsDep
from app.http.routes.common import PageSize, api_router
from app.ledger.schemas import ACCOUNT_ID_PATTERN, UtcTime
from app.outbox import schemas

router = api_router(tags=["events"])


@router.get("/v1/events", response_model=schemas.EventPage, operation_id="listEvents")
async def list_events(
    caller: ReadCaller,
    events: EventsDep,
    account_id: Annotated[str | None, Query(pattern=ACCOUNT_ID_PATTERN)] = None,
    type: Annotated[schemas.EventType | None, Query()] = None,  # noqa: A002 - the API's name
    created_gte: Annotated[UtcTime | None, Query()] = None,
    starting_after: Annotated[str | None, Query(pattern=schemas.EVENT_ID_PATTERN)] = None,
    limit: PageSize = 20,
):
    if caller.account_id is not None:  # a user token: its own account's events only
        caller.check_account(account_id or caller.account_id)
        account_id = caller.account_id
    return await events.page(
        account_id=account_id,
        type_=type,
        created_gte=created_gte,
        starting_after=starting_after,
        limit=limit,
    )
