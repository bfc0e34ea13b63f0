"""The route class of the API's routers (routes/common.py, `api_router`): what every route
works out once, when it is built, instead of on every request."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from app.http.query_params import declared_by, refuse_undeclared


class ApiRoute(APIRoute):
    """- Its query parameters: an operation under /v1 refuses one it does not declare, or one
      given twice, before anything else of the request is read (query_params.py). Probes
      and Stripe's endpoint take what they are sent.
    - Its path's fixed ends: the app's table is matched route by route, in order, and a
      request path that does not start with this route's text before its first parameter
      and end with its text after the last cannot match its pattern, so it is passed over
      without the pattern (most routes, for most requests)."""

    def __init__(self, path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(path, *args, **kwargs)
        self._head = self.path_format.split("{", 1)[0]
        self._tail = self.path_format.rsplit("}", 1)[-1] if "{" in self.path_format else ""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not scope.get("root_path"):  # else: the pattern's way
            path = scope["path"]
            if not (path.startswith(self._head) and path.endswith(self._tail)):
                return Match.NONE, {}
        return super().matches(scope)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if not self.path.startswith("/v1/"):
            return handle
        declared = declared_by(self.dependant)

        async def checked(request: Request) -> Response:
            if request.scope["query_string"]:  # most calls (a debit) have none to parse
                refuse_undeclared(declared, request.query_params)
            return await handle(request)

        return checked
