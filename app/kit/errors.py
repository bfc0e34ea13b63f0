"""Domain errors with a stable code and status, turned into problem+json by one handler."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger("app.errors")

PROBLEM_JSON = "application/problem+json"
# A client told 503 (the database does not answer) tries again after this many seconds.
RETRY_AFTER_SECONDS = 5


class DomainError(Exception):
    code = "error"
    status = 400
    title = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class DatabaseUnavailable(DomainError):
    """MongoDB does not answer (not yet, or not within the operation's time limit)."""

    code, status, title = "database_unavailable", 503, "Database unavailable"


class InsufficientCredits(DomainError):
    code, status, title = "insufficient_credits", 402, "Insufficient credits"


class AccessSuspended(DomainError):
    code, status, title = "access_suspended", 403, "Access suspended"


class NegativeBalance(DomainError):
    code, status, title = "negative_balance", 403, "Negative balance"


class Forbidden(DomainError):
    code, status, title = "forbidden", 403, "Forbidden"


class Unauthenticated(DomainError):
    code, status, title = "unauthenticated", 401, "Unauthenticated"


class TooManyFailures(DomainError):
    code, status, title = "too_many_failures", 429, "Too many failed attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many refused credentials from this address; try again in {retry_after} s"
        )
        self.retry_after = retry_after


class AccountNotFound(DomainError):
    code, status, title = "account_not_found", 404, "Account not found"


class ReservationNotFound(DomainError):
    code, status, title = "reservation_not_found", 404, "Reservation not found"


class GrantNotFound(DomainError):
    code, status, title = "grant_not_found", 404, "Grant not found"


class GrantExpired(DomainError):
    code, status, title = "grant_expired", 409, "Grant expired or voided"


class EventNotFound(DomainError):
    code, status, title = "event_not_found", 404, "Webhook event not found"


class CursorNotFound(DomainError):
    code, status, title = "cursor_not_found", 404, "Cursor not found"


class EndpointNotFound(DomainError):
    code, status, title = "endpoint_not_found", 404, "Webhook endpoint not found"


class DeliveryNotFound(DomainError):
    code, status, title = "delivery_not_found", 404, "Webhook delivery not found"


class DeliveryInFlight(DomainError):
    code, status, title = "delivery_in_flight", 409, "Webhook delivery being sent"


class EndpointDisabled(DomainError):
    code, status, title = "endpoint_disabled", 409, "Webhook endpoint disabled"


class TooManyEndpoints(DomainError):
    code, status, title = "too_many_webhook_endpoints", 409, "Too many webhook endpoints"


class IdempotencyKeyReused(DomainError):
    code, status, title = "idempotency_key_reused", 409, "Idempotency key reused"


class IdempotencyKeyExpired(DomainError):
    code, status, title = "idempotency_key_expired", 409, "Idempotency key expired"


class TooManyReservations(DomainError):
    code, status, title = "too_many_reservations", 409, "Too many reservations"


class ReservationNotHeld(DomainError):
    code, status, title = "reservation_not_held", 409, "Reservation not held"


class ReservationExpired(DomainError):
    code, status, title = "reservation_expired", 409, "Reservation expired"


class EventNotReplayable(DomainError):
    code, status, title = "event_not_replayable", 409, "Event cannot be replayed"


class MissingIdempotencyKey(DomainError):
    code, status, title = "idempotency_key_missing", 400, "Idempotency-Key header required"


class InvalidIdempotencyKey(DomainError):
    code, status, title = "idempotency_key_invalid", 400, "Invalid Idempotency-Key header"


class InvalidSignature(DomainError):
    code, status, title = "invalid_signature", 400, "Invalid Stripe signature"


class InvalidPayload(DomainError):
    code, status, title = "invalid_payload", 400, "Invalid payload"


class PayloadTooLarge(DomainError):
    code, status, title = "payload_too_large", 413, "Payload too large"


class WebhooksDisabled(DomainError):
    code, status, title = "webhooks_not_configured", 503, "Webhooks not configured"


class NotReady(DomainError):
    code, status, title = "not_ready", 503, "Not ready"


class StripeCustomerMissing(DomainError):
    code, status, title = "stripe_customer_missing", 422, "No Stripe customer"


class StripeNotConfigured(DomainError):
    code, status, title = "stripe_not_configured", 422, "Stripe API not configured"


class ValidationFailed(DomainError):
    code, status, title = "validation_error", 422, "Validation error"


def invalid_field(where: str, field: str, msg: str) -> ValidationFailed:
    """A 422 naming one field of the body or the query, worded as the request validator's."""
    return ValidationFailed(
        f"{field}: {msg}", errors=[{"loc": [where, field], "msg": msg, "type": "value_error"}]
    )


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def problem_response(exc: DomainError) -> JSONResponse:
    """The problem+json answer of a domain error; ASGI middleware answers with it too."""
    response = problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyFailures):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def unavailable_response(detail: str) -> JSONResponse:
    """503 database_unavailable, with the Retry-After a client (and Stripe) may honour."""
    response = problem_response(DatabaseUnavailable(detail))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


_HTTP_CODES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_failures",
}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            errors.append(_json_error(err))
            continue
        # Echo where and why, never the input itself (it may be huge or secret).
        errors.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
        )
    return errors


def _json_error(err: dict[str, Any]) -> dict[str, Any]:
    """FastAPI says `body.13: JSON decode error`; say what a person can act on."""
    loc = err.get("loc", ())
    reason = str((err.get("ctx") or {}).get("error", "")).strip()
    where = f" (at character {loc[1]})" if len(loc) > 1 and isinstance(loc[1], int) else ""
    msg = "not valid JSON" + (f": {reason}" if reason else "") + where
    return {"loc": ["body"], "msg": msg, "type": "json_invalid"}


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> str:
    """Every method some route of this path answers (RFC 9110: a 405 names them). Starlette
    names only the first route's, and a path's methods are often spread over several (and
    over included routers): ask the routes about each method."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}"
        return problem(422, "validation_error", "Validation error", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot decode (e.g. invalid UTF-8); the service
            # itself never raises HTTPException. A malformed body is a validation error.
            errors = [
                {
                    "loc": ["body"],
                    "msg": "the body could not be parsed as JSON",
                    "type": "json_invalid",
                }
            ]
            return problem(
                422,
                "validation_error",
                "Validation error",
                "body: the body could not be parsed as JSON",
                errors=errors,
            )
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        response = problem(exc.status_code, code, detail, detail)
        if exc.status_code == 405:
            response.headers["Allow"] = allowed_methods(request)
        return response

    async def _database(_: Request, exc: Exception) -> JSONResponse:
        # No primary within server selection, a dropped connection, an operation past its
        # time limit. The caller retries with the same Idempotency-Key (Stripe re-sends the
        # event): a unit of work that did commit is replayed, never applied twice.
        log.warning("database unavailable: %s: %s", exc.__class__.__name__, exc)
        return unavailable_response("MongoDB did not answer in time")

    for unavailable in (ConnectionFailure, ExecutionTimeout, WTimeoutError):
        app.add_exception_handler(unavailable, _database)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(
            500,
            "internal_error",
            "Internal error",
            "An unexpected error occurred; it has been logged.",
        )
