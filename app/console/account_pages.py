"""Console pages of accounts: the list and search, an account's page, grants, adjustments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.console import forms
from app.console.chart import usage_chart
from app.console.rendering import ConsoleError, Operator, act, back, render
from app.http.services import services_of
from app.kit.errors import AccountNotFound
from app.ledger import schemas
from app.ledger.idempotency import Outcome
from app.ledger.operations import Ledger
from app.ledger.schemas import is_account_id

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/accounts")
async def accounts_page(
    request: Request,
    operator: Operator,
    q: str = "",
    status: str = "",
    low_balance: str = "",
    after: str = "",
) -> Response:
    statuses = (
        "none",
        "trialing",
        "active",
        "past_due",
        "unpaid",
        "paused",
        "canceled",
        "incomplete",
    )
    page = await services_of(request.app).directory.accounts(
        q=q[:255] or None,
        status=status if status in statuses else None,
        low_balance=low_balance == "true",
        starting_after=after if is_account_id(after) else None,
        limit=50,
    )
    return render(
        request,
        "accounts.html",
        operator=operator,
        page=page,
        q=q,
        status=status,
        statuses=statuses,
        low_balance=low_balance == "true",
    )


@router.get("/accounts/{account_id}")
async def account_page(
    request: Request,
    account_id: str,
    operator: Operator,
    after: str = "",
    notice: str = "",
    error: str = "",
) -> Response:
    state = services_of(request.app)
    try:
        account = await state.ledger.account(account_id)
    except AccountNotFound:
        raise ConsoleError(404, f"no account {account_id!r}") from None
    access = await state.ledger.access(account_id, 1)
    grants = await state.ledger.grants(account_id, limit=100, starting_after=None)
    holds = await state.directory.reservations(
        account_id, status="held", starting_after=None, limit=100
    )
    # Split by meter: the chart's totals, and a line of what each meter used (rate card).
    usage = await state.directory.usage(
        account_id, start=None, end=None, group_by="day", metadata_key=None, by_meter=True
    )
    timeline = await state.timeline.page(account_id, starting_after=after or None, limit=25)
    attention = await state.event_log.needing_attention(account_id)
    auto_topup = await state.topups.settings(account_id)
    topups = await state.topups.page(account_id, starting_after=None, limit=10)
    return render(
        request,
        "account.html",
        operator=operator,
        account=account,
        access=access,
        grants=grants.data,
        holds=holds.data,
        usage=usage,
        chart=usage_chart(usage),
        timeline=timeline,
        attention=attention,
        auto_topup=auto_topup,
        topups=topups.data,
        notice=notice,
        error=error,
        grant_key=forms.new_idempotency_key(),
        adjust_key=forms.new_idempotency_key(),
    )


@router.post("/accounts/{account_id}/grants")
async def grant(request: Request, account_id: str, operator: Operator) -> Response:
    async def write(form: dict[str, str], ledger: Ledger, key: str, actor: str) -> Written:
        body = schemas.GrantCreate.model_validate(
            {
                "amount": _int(form.get("amount")),
                "kind": form.get("kind", "bonus"),
                "description": form.get("reason", "").strip(),
                **({"expires_at": form["expires_at"]} if form.get("expires_at") else {}),
            }
        )
        return f"granted {body.amount} credits", await ledger.grant(account_id, body, key, actor)

    return await _change_credits(request, account_id, operator, "grant", write)


@router.post("/accounts/{account_id}/adjustments")
async def adjust(request: Request, account_id: str, operator: Operator) -> Response:
    async def write(form: dict[str, str], ledger: Ledger, key: str, actor: str) -> Written:
        body = schemas.AdjustmentCreate.model_validate(
            {"amount": _int(form.get("amount")), "reason": form.get("reason", "").strip()}
        )
        return f"adjusted by {body.amount:+d}", await ledger.adjust(account_id, body, key, actor)

    return await _change_credits(request, account_id, operator, "adjustment", write)


Written = tuple[str, Outcome]  # what a grant or adjustment did, and its answer


async def _change_credits(
    request: Request,
    account_id: str,
    operator: Operator,
    what: str,
    write: Callable[[dict[str, str], Ledger, str, str], Awaitable[Written]],
) -> Response:
    """A grant or adjustment posted from the account page (it needs credits:grant), under the
    form's idempotency key; back to the page with the balance after it, or why it was refused."""
    page = f"/console/accounts/{account_id}"

    async def run(form: dict[str, str]) -> Response:
        if not operator.can_grant:
            raise ConsoleError(403, "this console session's key lacks the scope credits:grant")
        ledger, key = services_of(request.app).ledger, form.get("idempotency_key", "")
        said, outcome = await write(form, ledger, key, f"console:{operator.name}")
        return back(page, notice=f"{said}; balance {outcome.body['account']['balance']}")

    return await act(request, operator, page, what, run)


def _int(value: str | None) -> int | str | None:
    text = (value or "").strip()
    return int(text) if text.lstrip("-").isdigit() and len(text) < 20 else text
