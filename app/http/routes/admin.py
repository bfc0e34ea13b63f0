"""Operators' checks of the ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.http.auth import EventsAdmin
from app.http.deps import LedgerDep
from app.http.routes.common import api_router
from app.ledger import schemas

router = api_router(prefix="/v1/admin", tags=["admin"])


@router.get("/verify", response_model=schemas.VerifyReport, operation_id="verifyLedger")
async def verify_ledger(
    caller: EventsAdmin,
    ledger: LedgerDep,
    account_id: Annotated[str | None, Query(pattern=schemas.ACCOUNT_ID_PATTERN)] = None,
):
    """Check every invariant of the billing rules for one account or all; read only."""
    return await ledger.verify(account_id)
