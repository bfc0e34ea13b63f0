"""Console page of the ledger's invariant check (the service behind GET /v1/admin/verify)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.console.rendering import Operator, render
from app.http.services import services_of
from app.kit.errors import AccountNotFound
from app.ledger.schemas import is_account_id

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/verify")
async def verify_page(
    request: Request, operator: Operator, account_id: str = "", run: str = ""
) -> Response:
    """Runs on a GET: it only reads, and a bookmark or a reload runs it again."""
    account = account_id.strip()
    report, error = None, ""
    if run:
        if account and not is_account_id(account):
            error = f"{account!r} is not an account id"
        else:
            try:
                report = await services_of(request.app).ledger.verify(account or None)
            except AccountNotFound as exc:
                error = exc.detail
    return render(
        request, "verify.html", operator=operator, report=report, account_id=account, error=error
    )
