"""Every answer carries X-Request-Id: the caller's, when it is a short token of safe
characters, or a new one; every log line of the request carries it too, so a support ticket
that quotes it finds the lines. The outermost middleware: an exception nothing else answered
is logged here, under the request's id, and answered as a 500 problem carrying it."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.errors import problem
from app.kit.logs import current_request_id, new_request_id

log = logging.getLogger("app.errors")

HEADER = "X-Request-Id"
REQUEST_ID = "credit_ledger.request_id"  # where the id is left in the ASGI scope
# Letters, digits and . _ : -, at most 64: safe in a header, a log line and a URL.
VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def request_id_of(scope: Scope) -> str | None:
    return scope.get(REQUEST_ID)


@dataclass(eq=False)
class RequestId:
    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(HEADER, "")
        request_id = given if VALID.fullmatch(given) else new_request_id()
        scope[REQUEST_ID] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = current_request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if started:
                raise  # too late for an answer: the server closes the connection
            await problem(
                500,
                "internal_error",
                "Internal error",
                f"An unexpected error occurred; it has been logged under {request_id}.",
            )(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
