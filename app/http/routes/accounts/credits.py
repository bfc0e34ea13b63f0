"""Changing an account's credits: debits, holds, grants and corrections. Each POST is idempotent
by key."""

from __future__ import annotations

from app.http.auth import DebitCaller, GrantCaller, ReserveCaller
from app.http.deps import LedgerDep
from app.http.routes.common import AccountId, IdempotencyKey, api_router, replayable
from app.ledger import schemas

router = api_router(prefix="/v1/accounts", tags=["credits"])


@router.post(
    "/{account_id}/debits",
    status_code=201,
    response_model=schemas.EntryWithAccount,
    operation_id="createDebit",
)
async def create_debit(
    account_id: AccountId,
    body: schemas.DebitCreate,
    caller: DebitCaller,
    key: IdempotencyKey,
    ledger: LedgerDep,
):
    return replayable(await ledger.debit(account_id, body, key, caller.name))


@router.post(
    "/{account_id}/reservations",
    status_code=201,
    response_model=schemas.Reservation,
    operation_id="createReservation",
)
async def create_reservation(
    account_id: AccountId,
    body: schemas.ReservationCreate,
    caller: ReserveCaller,
    key: IdempotencyKey,
    ledger: LedgerDep,
):
    return replayable(await ledger.reserve(account_id, body, key, caller.name))


@router.post(
    "/{account_id}/grants",
    status_code=201,
    response_model=schemas.EntryWithAccount,
    operation_id="createGrant",
)
async def create_grant(
    account_id: AccountId,
    body: schemas.GrantCreate,
    caller: GrantCaller,
    key: IdempotencyKey,
    ledger: LedgerDep,
):
    return replayable(await ledger.grant(account_id, body, key, caller.name))


@router.post(
    "/{account_id}/adjustments",
    status_code=201,
    response_model=schemas.EntryWithAccount,
    operation_id="createAdjustment",
)
async def create_adjustment(
    account_id: AccountId,
    body: schemas.AdjustmentCreate,
    caller: GrantCaller,
    key: IdempotencyKey,
    ledger: LedgerDep,
):
    return replayable(await ledger.adjust(account_id, body, key, caller.name))
