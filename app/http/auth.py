"""Who is calling: service API keys and user JWTs, their scopes, and the Annotated dependencies."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from typing import Annotated, TypeGuard

import jwt
from fastapi import Depends, Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from app.http.services import services_of
from app.http.throttle import FailureThrottle, client_address
from app.kit.config import Scope, Settings
from app.kit.errors import (
    AccountNotFound,
    Forbidden,
    TooManyFailures,
    Unauthenticated,
    problem_response,
)

API_PREFIX = "/v1/"
DOOR = "api"  # the label of its refusals in /metrics
PRINCIPAL = "credit_ledger.principal"  # where the middleware leaves the caller in the scope
IAT_SKEW_SECONDS = 60  # clocks of the issuer and of this service may differ this much


@dataclass(frozen=True)
class Principal:
    kind: str  # "service" or "user"
    name: str
    scopes: frozenset[Scope]
    account_id: str | None = None  # set for user tokens: the only account they may read

    def check_account(self, account_id: str) -> None:
        """A user token sees only its own account; any other looks as if it did not exist."""
        if self.account_id is not None and self.account_id != account_id:
            raise AccountNotFound(f"account {account_id!r} not found")


class Authenticator:
    """Built once at start-up from the settings; verifies bearer tokens."""

    def __init__(self, settings: Settings) -> None:
        self._keys = [(bytes.fromhex(e.sha256), e.name, e.scopes) for e in settings.api_key_entries]
        self._jwt_keys: dict[str, str] = {}
        if settings.jwt_secret:
            self._jwt_keys["HS256"] = settings.jwt_secret
        if settings.jwt_public_key:
            self._jwt_keys["RS256"] = settings.jwt_public_key
        self._audience = settings.jwt_audience
        self._claim = settings.jwt_account_claim
        self._max_lifetime = settings.jwt_max_lifetime_seconds

    def authenticate(self, token: str) -> Principal:
        if token.count(".") == 2 and self._jwt_keys:
            return self._user(token)
        return self._service(token)

    def _service(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for key_hash, name, scopes in self._keys:
            # Constant time, and every entry is compared so timing does not tell which matched.
            if hmac.compare_digest(digest, key_hash):
                found = Principal("service", name, scopes)
        if found is None:
            raise Unauthenticated("invalid credentials")
        return found

    def _user(self, token: str) -> Principal:
        try:
            header_alg = jwt.get_unverified_header(token).get("alg")
            alg = header_alg if isinstance(header_alg, str) else ""
            key = self._jwt_keys.get(alg)
            if key is None:
                raise Unauthenticated("token algorithm not accepted")
            # `aud` is always verified: with no JWT_AUDIENCE configured, a token minted for
            # some audience (another service) is refused rather than accepted by default.
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audience,
                options={"require": ["exp"], "verify_aud": True, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc.__class__.__name__}") from None
        self._check_lifetime(claims, time.time())
        account = claims.get(self._claim)
        if not isinstance(account, str) or not account:
            raise Unauthenticated(f"token has no {self._claim!r} claim")
        return Principal("user", f"user:{account}", frozenset({Scope.credits_read}), account)

    def _check_lifetime(self, claims: dict, now: float) -> None:
        """A numeric `exp` no further than JWT_MAX_LIFETIME_SECONDS past `iat` (or past now,
        without one), and no `iat` from the future beyond clock skew: a stolen or mis-minted
        token must not live for years. Checked against the wall clock, as `exp` is."""
        exp, iat = claims.get("exp"), claims.get("iat")
        if not _is_number(exp):
            raise Unauthenticated("invalid token: exp must be a number of seconds")
        if iat is not None and not _is_number(iat):
            raise Unauthenticated("invalid token: iat must be a number of seconds")
        if iat is not None and iat > now + IAT_SKEW_SECONDS:
            raise Unauthenticated("invalid token: issued in the future")
        if exp - (now if iat is None else iat) > self._max_lifetime:
            raise Unauthenticated(
                "invalid token: it lives longer than "
                f"{self._max_lifetime} seconds (JWT_MAX_LIFETIME_SECONDS)"
            )


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def authenticate_headers(authenticator: Authenticator, headers: Headers) -> Principal:
    """The one way a caller is recognised: its `Authorization: Bearer` header."""
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing bearer token")
    return authenticator.authenticate(token.strip())


@dataclass(eq=False)
class AuthenticateApi:
    """Authenticates every /v1 request from its headers before anything reads its body, so an
    unauthenticated caller costs no body read and no JSON parse (FastAPI parses the body
    before it runs dependencies); the scope dependencies reuse the principal left here."""

    app: ASGIApp
    authenticator: Authenticator
    throttle: FailureThrottle

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        # CORS preflights carry no credentials by design.
        if (
            scope["type"] == "http"
            and scope["path"].startswith(API_PREFIX)
            and scope["method"] != "OPTIONS"
        ):
            address = client_address(scope)
            wait = self.throttle.retry_after(DOOR, address)
            if wait is not None:
                await problem_response(TooManyFailures(wait))(scope, receive, send)
                return
            headers = Headers(scope=scope)
            try:
                scope[PRINCIPAL] = authenticate_headers(self.authenticator, headers)
            except Unauthenticated as exc:
                if headers.get("authorization"):  # credentials given, and wrong
                    self.throttle.failed(DOOR, address)
                await problem_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def require(scope: Scope):
    async def dependency(request: Request) -> Principal:
        principal = request.scope.get(PRINCIPAL) or authenticate_headers(
            services_of(request.app).authenticator, request.headers
        )
        if scope not in principal.scopes:
            raise Forbidden(f"this token lacks the scope {scope.value}")
        return principal

    return Depends(dependency)


ReadCaller = Annotated[Principal, require(Scope.credits_read)]
DebitCaller = Annotated[Principal, require(Scope.credits_debit)]
ReserveCaller = Annotated[Principal, require(Scope.credits_reserve)]
GrantCaller = Annotated[Principal, require(Scope.credits_grant)]
EventsAdmin = Annotated[Principal, require(Scope.events_admin)]
