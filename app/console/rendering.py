"""What every console page shares: the session dependency, rendering, redirects, errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from app.console import forms
from app.console.session import COOKIE, ConsoleSession
from app.http.services import services_of
from app.kit.errors import DomainError

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


class SignInNeeded(Exception):
    """No valid console session: every page answers with the way to the sign-in page."""


class ConsoleError(Exception):
    """A page that cannot be shown, rendered as a page (not problem+json)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def console_session(request: Request) -> ConsoleSession:
    session = await services_of(request.app).console.read(request.cookies.get(COOKIE))
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


async def act(
    request: Request,
    operator: ConsoleSession,
    page: str,
    what: str,
    action: Callable[[dict[str, str]], Awaitable[Response]],
) -> Response:
    """A console form's work: its CSRF token checked, then `action` with its fields, which
    says what it did; a bad field or a refusal of the service goes back to `page` saying why."""
    form = await forms.checked_form(request, operator)
    try:
        return await action(form)
    except (ValidationError, DomainError) as exc:
        return back(page, error=f"{what} refused: {forms.problem_text(exc)}")


def back(path: str, **params: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)
