"""Refuse oversized API request bodies before anything reads them (413 problem+json)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import problem

# The largest valid API body (50 metadata values of 500 characters and a description) is
# about 30 KiB; Stripe's webhook endpoint has its own 1 MiB limit.
API_BODY_LIMIT = 64 * 1024
EXEMPT_PREFIXES = ("/webhooks/",)


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = API_BODY_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            response = problem(413, "payload_too_large", "Payload too large",
                               f"request bodies are limited to {self.limit} bytes")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
