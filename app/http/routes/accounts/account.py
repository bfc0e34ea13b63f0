"""One account: its profile, grants, ledger, balance at a time and access decision."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from app.http.auth import GrantCaller, ReadCaller
from app.http.deps import LedgerDep
from app.http.routes.common import (
    AccountId,
    OptionalIdempotencyKey,
    PageSize,
    api_router,
    replayable,
)
from app.ledger import schemas
from app.ledger.repository import LedgerQuery

router = api_router(prefix="/v1/accounts", tags=["accounts"])

EntryType = Literal["grant", "debit", "capture", "expiry", "clawback", "adjustment"]


@router.get("/{account_id}", response_model=schemas.Account, operation_id="getAccount")
async def get_account(account_id: AccountId, caller: ReadCaller, ledger: LedgerDep):
    caller.check_account(account_id)
    return await ledger.account(account_id)


@router.patch("/{account_id}", response_model=schemas.Account, operation_id="updateAccount")
async def update_account(
    account_id: AccountId,
    body: schemas.AccountUpdate,
    caller: GrantCaller,
    key: OptionalIdempotencyKey,
    ledger: LedgerDep,
):
    """Set the account's name, email or metadata (null clears one; metadata is replaced
    whole). The console's search finds accounts by them."""
    return replayable(await ledger.update_account(account_id, body, key))


@router.get("/{account_id}/grants", response_model=schemas.GrantList, operation_id="listGrants")
async def list_grants(
    account_id: AccountId,
    caller: ReadCaller,
    ledger: LedgerDep,
    limit: PageSize = 20,
    starting_after: Annotated[str | None, Query(pattern=r"^gr_[0-9a-f]{24}$")] = None,
):
    caller.check_account(account_id)
    return await ledger.grants(account_id, limit=limit, starting_after=starting_after)


@router.get(
    "/{account_id}/ledger", response_model=schemas.LedgerPage, operation_id="listLedgerEntries"
)
async def list_ledger(
    account_id: AccountId,
    caller: ReadCaller,
    ledger: LedgerDep,
    limit: PageSize = 20,
    starting_after: Annotated[str | None, Query(pattern=r"^le_[0-9a-f]{24}$")] = None,
    type: Annotated[EntryType | None, Query()] = None,  # noqa: A002 - the API's name
    created_gte: Annotated[schemas.UtcTime | None, Query()] = None,
    created_lt: Annotated[schemas.UtcTime | None, Query()] = None,
):
    caller.check_account(account_id)
    query = LedgerQuery(limit, starting_after, type, created_gte, created_lt)
    return await ledger.ledger_page(account_id, query)


@router.get("/{account_id}/balance", response_model=schemas.BalanceAt, operation_id="getBalanceAt")
async def balance_at(
    account_id: AccountId,
    caller: ReadCaller,
    ledger: LedgerDep,
    at: Annotated[schemas.UtcTime | None, Query()] = None,
):
    """The balance as it stood at a time (default: now), from the ledger."""
    caller.check_account(account_id)
    return await ledger.balance_at(account_id, at)


@router.get(
    "/{account_id}/access",
    response_model=schemas.AccessDecision,
    response_model_exclude_none=True,
    operation_id="checkAccess",
)
async def check_access(
    account_id: AccountId,
    caller: ReadCaller,
    ledger: LedgerDep,
    cost: Annotated[int, Query(ge=0, le=schemas.MAX_CREDITS)] = 1,
    meter: Annotated[schemas.MeterName | None, Query()] = None,
    quantity: Annotated[int, Query(ge=1, le=schemas.MAX_QUANTITY)] = 1,
):
    """Whether the account may spend now: `cost` credits, or `quantity` of a `meter` at the
    price it would be charged now (the answer's `cost` and `usage` say how much and why)."""
    caller.check_account(account_id)
    return await ledger.access(account_id, cost, meter, quantity)


@router.get(
    "/{account_id}/rates", response_model=schemas.AccountRates, operation_id="getAccountRates"
)
async def get_account_rates(account_id: AccountId, caller: ReadCaller, ledger: LedgerDep):
    """What this account pays now for a unit of each meter (its plan's price, or the card's),
    and the next price scheduled for it: what a frontend shows beside each action."""
    caller.check_account(account_id)
    return await ledger.account_rates(account_id)
