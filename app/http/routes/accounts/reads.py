"""Finding accounts, an account's holds and its usage (app/accounts/, the read side); the timeline
for operators."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from app.accounts import schemas as read_schemas
from app.accounts.timeline.schemas import TimelinePage
from app.accounts.timeline.service import CURSOR_PATTERN
from app.accounts.usage import GroupBy
from app.http.auth import EventsAdmin, ReadCaller
from app.http.deps import DirectoryDep, TimelineDep
from app.http.routes.common import AccountId, PageSize, api_router
from app.kit.errors import Forbidden
from app.ledger.schemas import ACCOUNT_ID_PATTERN, MetadataKey, UtcTime

router = api_router(prefix="/v1/accounts", tags=["accounts"])

Status = Literal[
    "none", "trialing", "active", "past_due", "unpaid", "paused", "canceled", "incomplete"
]
HoldStatus = Literal["held", "captured", "released", "expired"]


@router.get("", response_model=read_schemas.AccountList, operation_id="listAccounts")
async def list_accounts(
    caller: ReadCaller,
    directory: DirectoryDep,
    q: Annotated[
        str | None,
        Query(
            max_length=255,
            description="an account id prefix, a Stripe customer id, an email, or a prefix of "
            "the account's name, of a word of it, or of key:value of its metadata (any case)",
        ),
    ] = None,
    subscription_status: Annotated[Status | None, Query()] = None,
    low_balance: Annotated[
        bool, Query(description=("only accounts whose balance.low or balance.depleted alert is on"))
    ] = False,
    limit: PageSize = 20,
    starting_after: Annotated[str | None, Query(pattern=ACCOUNT_ID_PATTERN)] = None,
):
    if caller.kind != "service":
        raise Forbidden("listing accounts needs a service key; a user token reads its own")
    return await directory.accounts(
        q=q,
        status=subscription_status,
        low_balance=low_balance,
        starting_after=starting_after,
        limit=limit,
    )


@router.get(
    "/{account_id}/reservations",
    response_model=read_schemas.ReservationList,
    operation_id="listReservations",
)
async def list_reservations(
    account_id: AccountId,
    caller: ReadCaller,
    directory: DirectoryDep,
    status: Annotated[HoldStatus | None, Query()] = None,
    limit: PageSize = 20,
    starting_after: Annotated[str | None, Query(pattern=r"^rsv_[0-9a-f]{24}$")] = None,
):
    caller.check_account(account_id)
    return await directory.reservations(
        account_id, status=status, starting_after=starting_after, limit=limit
    )


@router.get("/{account_id}/usage", response_model=read_schemas.Usage, operation_id="getUsage")
async def get_usage(
    account_id: AccountId,
    caller: ReadCaller,
    directory: DirectoryDep,
    from_: Annotated[UtcTime | None, Query(alias="from")] = None,
    to: Annotated[UtcTime | None, Query()] = None,
    group_by: Annotated[GroupBy, Query()] = "day",
    metadata_key: Annotated[MetadataKey | None, Query()] = None,
    by_meter: Annotated[bool, Query()] = False,
):
    caller.check_account(account_id)
    return await directory.usage(
        account_id,
        start=from_,
        end=to,
        group_by=group_by,
        metadata_key=metadata_key,
        by_meter=by_meter,
    )


@router.get("/{account_id}/timeline", response_model=TimelinePage, operation_id="getTimeline")
async def get_timeline_page(
    account_id: AccountId,
    caller: EventsAdmin,
    timeline: TimelineDep,
    limit: PageSize = 20,
    starting_after: Annotated[str | None, Query(pattern=CURSOR_PATTERN)] = None,
):
    return await timeline.page(account_id, starting_after=starting_after, limit=limit)
