"""Refuse oversized request bodies by the bytes actually read, chunked or not (413
problem+json), before any route sees them."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.errors import PayloadTooLarge, problem_response

# The largest valid API body (50 metadata values of 500 characters and a description) is
# about 30 KiB. Stripe's events are far below 1 MiB.
API_BODY_LIMIT = 64 * 1024
WEBHOOK_BODY_LIMIT = 1024 * 1024
WEBHOOK_PREFIX = "/webhooks/"
# A batch of 1,000 usage records of about 200 bytes each, with room for descriptions; a
# batch with more to say is split by its sender (413 says the limit).
USAGE_BODY_LIMIT = 1024 * 1024
USAGE_PATH = "/v1/usage"


@dataclass(eq=False)
class BodyLimit:
    """Reads the whole body (at most the limit of its path) before calling the app, and
    hands the app that buffered body: a body past the limit is never read further, whatever
    `Content-Length` says or whether there is one (chunked transfer)."""

    app: ASGIApp
    api_limit: int = API_BODY_LIMIT
    webhook_limit: int = WEBHOOK_BODY_LIMIT

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.api_limit
        if scope["path"].startswith(WEBHOOK_PREFIX):
            limit = self.webhook_limit
        elif scope["path"] == USAGE_PATH:
            limit = max(self.api_limit, USAGE_BODY_LIMIT)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        body = bytearray()
        first: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first = message  # the client went away: the app sees that instead of a body
                break
            body.extend(message.get("body", b""))
            if len(body) > limit:
                await self._refuse(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break
        first = first or {"type": "http.request", "body": bytes(body), "more_body": False}
        await self.app(scope, _replay(first, receive), send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = PayloadTooLarge(
            f"request bodies here are limited to {limit} bytes", max_bytes=limit
        )
        await problem_response(error)(scope, receive, send)


def _replay(first: Message, receive: Receive) -> Receive:
    """A receive that gives the buffered body once, then waits on the real one (disconnect)."""
    pending = [first]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
