"""The access log: one line for each request that failed on our side (5xx) or took longer than
SLOW_SECONDS, with its method, path, status and time. A line for every answered request costs
the formatting and the write on the hot path, and tells little that metrics do not; uvicorn's
own access log is off (app/cli)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("app.access")

SLOW_SECONDS = 1.0


@dataclass(eq=False)
class AccessLog:
    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            if status >= 500 or seconds >= SLOW_SECONDS:
                # The path only, never the query string: it may carry a token or an email.
                log.warning(
                    "%s %s %d %.0f ms", scope["method"], scope["path"], status, seconds * 1000
                )
