"""Auto top-up: an account's settings and its top-ups."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.http.auth import GrantCaller, ReadCaller
from app.http.deps import TopupsDep
from app.http.routes.common import AccountId, PageSize, api_router
from app.topups import schemas

router = api_router(prefix="/v1/accounts", tags=["auto top-up"])


@router.get(
    "/{account_id}/auto-topup", response_model=schemas.AutoTopup, operation_id="getAutoTopup"
)
async def get_auto_topup(account_id: AccountId, caller: GrantCaller, topups: TopupsDep):
    """The account's auto top-up settings (before any are set: its plan's defaults, off)."""
    return await topups.settings(account_id)


@router.put(
    "/{account_id}/auto-topup", response_model=schemas.AutoTopup, operation_id="setAutoTopup"
)
async def set_auto_topup(
    account_id: AccountId,
    body: schemas.AutoTopupUpdate,
    caller: GrantCaller,
    topups: TopupsDep,
):
    """Set the account's auto top-up whole. Enabling needs a linked Stripe customer, a
    threshold, a pack and a monthly cap (each from the body or the plan's defaults)."""
    return await topups.save(account_id, body)


@router.get("/{account_id}/topups", response_model=schemas.TopupPage, operation_id="listTopups")
async def list_topups(
    account_id: AccountId,
    caller: ReadCaller,
    topups: TopupsDep,
    limit: PageSize = 20,
    starting_after: Annotated[str | None, Query(pattern=schemas.TOPUP_ID_PATTERN)] = None,
):
    """The account's top-ups, newest first."""
    caller.check_account(account_id)
    return await topups.page(account_id, starting_after=starting_after, limit=limit)
