"""Console routes: thin, they check the session, call the services, and render templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from app.console import forms
from app.console.chart import usage_bars
from app.console.session import (
    COOKIE,
    LIFETIME_SECONDS,
    LOGIN_CSRF_COOKIE,
    ConsoleSession,
    same_token,
)
from app.errors import AccountNotFound, DomainError
from app.ledger import schemas
from app.ledger.schemas import is_account_id

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(prefix="/console", include_in_schema=False)


class SignInNeeded(Exception):
    """No valid console session: every page answers with the way to the sign-in page."""


class ConsoleError(Exception):
    """A page that cannot be shown, rendered as a page (not problem+json)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def install_console(app) -> None:
    """The console's routes, its static files, and its answers to errors: pages, not JSON."""
    app.include_router(router)
    app.mount(
        "/console/static",
        StaticFiles(directory=Path(__file__).parent / "static"),
        name="console-static",
    )

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse("/console/login", status_code=303)

    @app.exception_handler(ConsoleError)
    async def _error(request: Request, exc: ConsoleError) -> Response:
        return render(request, "error.html", exc.status, message=exc.message)

    @app.exception_handler(forms.CsrfRefused)
    async def _csrf(request: Request, exc: forms.CsrfRefused) -> Response:
        return render(request, "error.html", 403, message=exc.detail)


def console_session(request: Request) -> ConsoleSession:
    session = request.app.state.console.read(request.cookies.get(COOKIE))
    if session is None:
        raise SignInNeeded
    return session


Operator = Annotated[ConsoleSession, Depends(console_session)]


# Nothing from elsewhere, no framing, no inline script; pages hold account data: not cached.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def render(request: Request, name: str, code: int = 200, **context) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=code)
    response.headers.update(SECURITY_HEADERS)
    return response


def back(path: str, **params: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


@router.get("/login")
async def login_page(request: Request, error: str | None = None) -> Response:
    token = request.app.state.console.login_token()
    response = render(request, "login.html", 401 if error else 200, csrf=token, error=error)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=600,
        httponly=True,
        samesite="strict",
        path="/console",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await forms.read_form(request)
    if not same_token(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise forms.CsrfRefused("the sign-in form expired: reload the page")
    signed = request.app.state.console.sign_in(form.get("key", ""))
    if signed is None:
        # One answer for every refusal: which part was wrong is not told.
        return back("/console/login", error="not a service key with events:admin")
    cookie, _ = signed
    response = back("/console/accounts")
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=LIFETIME_SECONDS,
        httponly=True,
        samesite="strict",
        path="/console",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request, operator: Operator) -> Response:
    await forms.checked_form(request, operator)
    response = back("/console/login")
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("")
@router.get("/")
async def home(operator: Operator) -> Response:
    return back("/console/accounts")


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
    page = await request.app.state.directory.accounts(
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
    state = request.app.state
    try:
        account = await state.ledger.account(account_id)
    except AccountNotFound:
        raise ConsoleError(404, f"no account {account_id!r}") from None
    access = await state.ledger.access(account_id, 1)
    grants = await state.ledger.grants(account_id, limit=100, starting_after=None)
    holds = await state.directory.reservations(
        account_id, status="held", starting_after=None, limit=100
    )
    usage = await state.directory.usage(
        account_id, start=None, end=None, group_by="day", metadata_key=None
    )
    timeline = await state.timeline.page(account_id, starting_after=after or None, limit=25)
    return render(
        request,
        "account.html",
        operator=operator,
        account=account,
        access=access,
        grants=grants.data,
        holds=holds.data,
        usage=usage,
        bars=usage_bars(usage),
        timeline=timeline,
        notice=notice,
        error=error,
        grant_key=forms.new_idempotency_key(),
        adjust_key=forms.new_idempotency_key(),
    )


@router.post("/accounts/{account_id}/grants")
async def grant(request: Request, account_id: str, operator: Operator) -> Response:
    form = await forms.checked_form(request, operator)
    path = f"/console/accounts/{account_id}"
    if not operator.can_grant:
        raise ConsoleError(403, "this console session's key lacks the scope credits:grant")
    try:
        body = schemas.GrantCreate.model_validate(
            {
                "amount": _int(form.get("amount")),
                "kind": form.get("kind", "bonus"),
                "description": form.get("reason", "").strip(),
                **({"expires_at": form["expires_at"]} if form.get("expires_at") else {}),
            }
        )
        outcome = await request.app.state.ledger.grant(
            account_id, body, form.get("idempotency_key", ""), f"console:{operator.name}"
        )
    except (ValidationError, DomainError) as exc:
        return back(path, error=f"grant refused: {forms.problem_text(exc)}")
    balance = outcome.body["account"]["balance"]
    return back(path, notice=f"granted {body.amount} credits; balance {balance}")


@router.post("/accounts/{account_id}/adjustments")
async def adjust(request: Request, account_id: str, operator: Operator) -> Response:
    form = await forms.checked_form(request, operator)
    path = f"/console/accounts/{account_id}"
    if not operator.can_grant:
        raise ConsoleError(403, "this console session's key lacks the scope credits:grant")
    try:
        body = schemas.AdjustmentCreate.model_validate(
            {"amount": _int(form.get("amount")), "reason": form.get("reason", "").strip()}
        )
        outcome = await request.app.state.ledger.adjust(
            account_id, body, form.get("idempotency_key", ""), f"console:{operator.name}"
        )
    except (ValidationError, DomainError) as exc:
        return back(path, error=f"adjustment refused: {forms.problem_text(exc)}")
    balance = outcome.body["account"]["balance"]
    return back(path, notice=f"adjusted by {body.amount:+d}; balance {balance}")


def _int(value: str | None) -> int | str | None:
    text = (value or "").strip()
    return int(text) if text.lstrip("-").isdigit() and len(text) < 20 else text


@router.get("/stripe-events")
async def stripe_events(
    request: Request,
    operator: Operator,
    status: str = "",
    type: str = "",
    account_id: str = "",
    after: str = "",  # noqa: A002
    notice: str = "",
    error: str = "",
) -> Response:
    log = request.app.state.event_log
    statuses = ("received", "processed", "duplicate", "ignored", "parked", "failed")
    account = account_id if is_account_id(account_id) else None
    attention = []
    for stuck in ("failed", "parked"):
        attention += (
            await log.page(
                limit=50, starting_after=None, status=stuck, type_=None, account_id=account
            )
        ).data
    page = await log.page(
        limit=50,
        starting_after=after[:255] or None,
        status=status if status in statuses else None,
        type_=type[:100] or None,
        account_id=account,
    )
    return render(
        request,
        "stripe_events.html",
        operator=operator,
        attention=attention,
        page=page,
        status=status,
        type=type,
        account_id=account_id,
        statuses=statuses,
        notice=notice,
        error=error,
    )


@router.post("/stripe-events/{event_id}/replay")
async def replay(request: Request, event_id: str, operator: Operator) -> Response:
    await forms.checked_form(request, operator)
    try:
        await request.app.state.webhooks.replay(event_id[:255])
        event = await request.app.state.event_log.get(event_id[:255])
    except DomainError as exc:
        return back("/console/stripe-events", error=f"replay refused: {exc.detail}")
    text = f"replayed {event.id}: {event.status}"
    if event.error:
        return back("/console/stripe-events", error=f"{text}: {event.error}")
    return back("/console/stripe-events", notice=text)
