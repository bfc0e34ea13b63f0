"""Reading console forms (urlencoded, small) and turning their errors into one line."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs

from fastapi import Request
from pydantic import ValidationError

from app.console.session import ConsoleSession, same_token
from app.kit.errors import DomainError, Forbidden, PayloadTooLarge

MAX_FORM_BYTES = 16 * 1024


class CsrfRefused(Forbidden):
    """A form without the session's CSRF token: 403, and nothing changes."""


async def read_form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PayloadTooLarge(f"a console form is at most {MAX_FORM_BYTES} bytes")
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        fields = {}
    return {k: v[0] for k, v in fields.items()}


async def checked_form(request: Request, session: ConsoleSession) -> dict[str, str]:
    form = await read_form(request)
    if not same_token(form.get("csrf_token"), session.csrf):
        raise CsrfRefused("the form's CSRF token is missing or wrong: reload the page")
    return form


def new_idempotency_key() -> str:
    """Minted into each form: the same form posted twice does its work once."""
    return f"console-{secrets.token_urlsafe(18)}"


def problem_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        return f"{field}: {err['msg'].removeprefix('Value error, ')}"
    if isinstance(exc, DomainError):
        return exc.detail
    return "the request failed"
