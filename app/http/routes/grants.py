"""An operator's changes to an existing grant: void the rest of it, or move its expiry."""

from __future__ import annotations

from app.http.auth import GrantCaller
from app.http.deps import LedgerDep
from app.http.routes.common import GrantId, IdempotencyKey, api_router, replayable
from app.ledger import schemas

router = api_router(prefix="/v1/grants", tags=["credits"])


@router.post("/{grant_id}/void", response_model=schemas.GrantVoided, operation_id="voidGrant")
async def void_grant(
    grant_id: GrantId,
    body: schemas.GrantVoid,
    caller: GrantCaller,
    key: IdempotencyKey,
    ledger: LedgerDep,
):
    """The grant's free credits expire now, with an `expiry` entry; credits a hold has set
    aside stay with the hold and expire when it releases them."""
    return replayable(await ledger.void_grant(grant_id, body, key, caller.name))


@router.patch("/{grant_id}", response_model=schemas.GrantWithAccount, operation_id="updateGrant")
async def update_grant(
    grant_id: GrantId,
    body: schemas.GrantUpdate,
    caller: GrantCaller,
    key: IdempotencyKey,
    ledger: LedgerDep,
):
    """Move a live grant's expiry (`null`: never expires); the balance does not change."""
    return replayable(await ledger.update_grant(grant_id, body, key, caller.name))
