"""The rate card: what each meter costs, now and from when a scheduled change applies."""

from __future__ import annotations

from app.http.auth import ReadCaller
from app.http.deps import LedgerDep
from app.http.routes.common import api_router
from app.ledger import schemas

router = api_router(tags=["rates"])


@router.get("/v1/rates", response_model=schemas.RateCardView, operation_id="getRateCard")
async def get_rate_card(caller: ReadCaller, ledger: LedgerDep):
    """Every meter of the catalog's rate card: its version in effect now and the scheduled
    ones (with their per-plan prices). Readable with a user token."""
    return ledger.rates()
