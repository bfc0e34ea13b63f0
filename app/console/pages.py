"""The console: its routes, static files and error pages; sign-in and sign-out."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.console import account_pages, forms, stripe_pages, verify_pages, webhook_pages
from app.console.rendering import ConsoleError, Operator, SignInNeeded, back, render
from app.console.session import COOKIE, LIFETIME_SECONDS, LOGIN_CSRF_COOKIE, same_token
from app.http.services import services_of
from app.http.throttle import client_address
from app.kit.errors import DomainError

router = APIRouter(prefix="/console", include_in_schema=False)


def install_console(app) -> None:
    """The console's routes, its static files, and its answers to errors: pages, not JSON."""
    for routes in (
        router,
        account_pages.router,
        stripe_pages.router,
        verify_pages.router,
        webhook_pages.router,
    ):
        app.include_router(routes)
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

    # Whatever else refuses a console request is a page too; elsewhere, the API's answer.
    for kind in (DomainError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(kind, _page_under_console(app.exception_handlers[kind]))


def _page_under_console(api_handler):
    async def handler(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/console"):
            return await api_handler(request, exc)
        answer = await api_handler(request, exc)  # the status, headers and words it would get
        message = json.loads(bytes(answer.body)).get("detail") or "the request failed"
        page = render(request, "error.html", answer.status_code, message=message)
        if "allow" in answer.headers:
            page.headers["Allow"] = answer.headers["allow"]
        return page

    return handler


# What the sign-in page may say: chosen by a code in the URL, never text from it (a link to
# the real domain must not be able to put words on its page).
SIGN_IN_ERRORS = {
    "refused": "Not a service key with events:admin.",
    "throttled": "Too many refused keys from this address: wait a minute and try again.",
}
DOOR = "console"  # the label of its refusals in /metrics


@router.get("/login")
async def login_page(request: Request, error: str | None = None) -> Response:
    token = services_of(request.app).console.login_token()
    message = SIGN_IN_ERRORS.get(error or "")
    response = render(request, "login.html", 401 if message else 200, csrf=token, error=message)
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
    throttle, address = services_of(request.app).throttle, client_address(request.scope)
    if throttle.retry_after(DOOR, address) is not None:
        return back("/console/login", error="throttled")
    signed = await services_of(request.app).console.sign_in(form.get("key", ""))
    if signed is None:
        throttle.failed(DOOR, address)
        # One answer for every refusal: which part was wrong is not told.
        return back("/console/login", error="refused")
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
    # The record goes: every copy of the cookie, on every instance, is signed out.
    await services_of(request.app).console.sign_out(operator)
    response = back("/console/login")
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("")
@router.get("/")
async def home(operator: Operator) -> Response:
    return back("/console/accounts")
