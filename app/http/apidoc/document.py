"""Build /openapi.json from FastAPI's document: the bearer scheme, each operation's real error
answers as problem+json (with an example per code), and the glossary's words on every field."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.http.apidoc.glossary import PARAMETERS, field_words
from app.kit import errors

BEARER = "bearerAuth"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
E = errors

# Errors an operation answers beyond those its shape implies (see _implied_errors).
SPECIFIC_ERRORS: dict[str, list[type[errors.DomainError]]] = {
    "POST /v1/accounts/{account_id}/debits": [
        E.InsufficientCredits,
        E.AccessSuspended,
        E.NegativeBalance,
    ],
    "POST /v1/accounts/{account_id}/reservations": [
        E.InsufficientCredits,
        E.AccessSuspended,
        E.NegativeBalance,
        E.TooManyReservations,
    ],
    "POST /v1/reservations/{reservation_id}/capture": [E.ReservationNotHeld, E.ReservationExpired],
    "POST /v1/reservations/{reservation_id}/release": [E.ReservationNotHeld, E.ReservationExpired],
    "POST /v1/webhook-events/{event_id}/replay": [E.EventNotFound, E.EventNotReplayable],
    "POST /v1/grants/{grant_id}/void": [E.GrantNotFound, E.GrantExpired],
    "PATCH /v1/grants/{grant_id}": [E.GrantNotFound, E.GrantExpired],
    "GET /readyz": [E.NotReady],
    "GET /metrics": [E.Unauthenticated, E.Forbidden],
    "POST /v1/webhook-endpoints": [E.TooManyEndpoints],
    "GET /v1/events": [E.CursorNotFound],
    "PUT /v1/accounts/{account_id}/auto-topup": [E.StripeCustomerMissing, E.StripeNotConfigured],
    "GET /v1/accounts/{account_id}/topups": [E.CursorNotFound],
    "POST /v1/webhook-deliveries/{delivery_id}/retry": [
        E.DeliveryNotFound,
        E.EndpointNotFound,
        E.EndpointDisabled,
    ],
    "POST /webhooks/stripe": [
        E.InvalidSignature,
        E.InvalidPayload,
        E.PayloadTooLarge,
        E.WebhooksDisabled,
    ],
}
# Writes that set values, safe to repeat: an Idempotency-Key is honoured, never required.
OPTIONAL_KEY = {"PATCH /v1/accounts/{account_id}"}
# Stripe's endpoint reads the raw body (its signature covers the bytes): what it takes, once
# the signature matches, is a JSON object with a usable `id`; anything else is 400.
STRIPE_EVENT_BODY: dict[str, Any] = {
    "required": True,
    "description": "A Stripe event, exactly as Stripe sent it (signed with Stripe-Signature).",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9_]{1,255}$",
                        "description": "Stripe's event id (evt_...).",
                    }
                },
            }
        }
    },
}
IDEMPOTENCY_KEY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": "^[ -~]+$",
    "description": "1-255 printable ASCII characters, not starting with a prefix the service "
    "keys its own entries with (invoice:, checkout:, trial:, upgrade:, refund:, dispute:, "
    "rollover:, allocation:)",
}
# Grants create the account they name, so an unknown one is no 404 there.
CREATES_ACCOUNT = {"POST /v1/accounts/{account_id}/grants"}


def _figure(kind: str, description: str, example: Any) -> dict[str, Any]:
    if kind == "date-time":
        return {"type": "string", "format": kind, "description": description, "examples": [example]}
    return {"type": kind, "description": description, "examples": [example]}


# The numbers of a problem, as fields (programs read them here, never in `detail`).
PROBLEM_FIGURES: dict[str, dict[str, Any]] = {
    "requested": _figure(
        "integer",
        "insufficient_credits, negative_balance, validation_error of a capture: the credits "
        "the request asked for.",
        100000,
    ),
    "available": _figure(
        "integer",
        "insufficient_credits, negative_balance: credits the account could spend then "
        "(balance - reserved, at least 0).",
        85,
    ),
    "balance": _figure(
        "integer", "insufficient_credits, negative_balance: the account's balance then.", 105
    ),
    "reserved": _figure(
        "integer",
        "insufficient_credits, negative_balance: credits set aside by live holds then.",
        20,
    ),
    "grace_until": _figure(
        "date-time",
        "access_suspended with reason past_due: when the grace period ended (UTC).",
        "2026-11-04T12:00:00Z",
    ),
    "held": _figure(
        "integer", "validation_error of a capture over its hold: the credits the hold has.", 20
    ),
    "reservation_id": _figure(
        "string", "reservation_not_held, reservation_expired: the hold.", "rsv_6743a1f0c2a4b5d6"
    ),
    "reservation_status": _figure(
        "string", "reservation_not_held: what became of the hold (captured, released).", "captured"
    ),
    "expires_at": _figure(
        "date-time", "reservation_expired: the hold's deadline (UTC).", "2026-11-01T12:05:00Z"
    ),
    "held_reservations": _figure(
        "integer", "too_many_reservations: the account's live holds.", 1000
    ),
    "max_held_reservations": _figure(
        "integer", "too_many_reservations: the most live holds an account may have.", 1000
    ),
    "max_bytes": _figure("integer", "payload_too_large: the largest body accepted.", 1048576),
    "grant_id": _figure(
        "string", "grant_not_found, grant_expired: the grant.", "gr_6743a1f0c2a4b5d6e7f80912"
    ),
    "grant_status": _figure("string", "grant_expired: expired or voided.", "voided"),
    "missing": {
        "type": "array",
        "items": {"type": "string", "enum": ["database", "indexes", "migrations"]},
        "description": "not_ready: what the service waits for before it serves its API.",
        "examples": [["database"]],
    },
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error, as application/problem+json (RFC 9457), with a stable code.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {
            "type": "string",
            "description": "Always about:blank: the code says what.",
            "examples": ["about:blank"],
        },
        "title": {
            "type": "string",
            "description": "The code in words.",
            "examples": ["Insufficient credits"],
        },
        "status": {"type": "integer", "description": "The HTTP status.", "examples": [402]},
        "detail": {
            "type": "string",
            "description": "What went wrong in this request.",
            "examples": ["account 'user_42' has 2 credits available; 3 needed"],
        },
        "code": {
            "type": "string",
            "description": "Stable, for programs to branch on.",
            "examples": ["insufficient_credits"],
        },
        "reason": {
            "type": "string",
            "description": "access_suspended only: past_due, unpaid, paused or disputed.",
            "examples": ["past_due"],
        },
        **PROBLEM_FIGURES,
        "errors": {
            "type": "array",
            "description": "validation_error only: each field's problem.",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Where: body, query, path or header, then the field.",
                        "examples": [["body", "amount"]],
                    },
                    "msg": {
                        "type": "string",
                        "description": "What is wrong with it.",
                        "examples": ["Input should be greater than or equal to 1"],
                    },
                    "type": {
                        "type": "string",
                        "description": "The kind of problem.",
                        "examples": ["greater_than_equal"],
                    },
                },
            },
        },
    },
}


def _implied_errors(
    key: str, path: str, operation: dict[str, Any]
) -> list[type[errors.DomainError]]:
    found: list[type[errors.DomainError]] = []
    params = {p["name"] for p in operation.get("parameters", [])}
    if path.startswith("/v1/"):
        found += [E.Unauthenticated, E.Forbidden, E.TooManyFailures]
    if path.startswith(("/v1/", "/webhooks/")):
        found.append(E.DatabaseUnavailable)
    if "account_id" in params and key not in CREATES_ACCOUNT:  # in the path or the query
        found.append(E.AccountNotFound)
    if "{reservation_id}" in path:
        found.append(E.ReservationNotFound)
    if "{endpoint_id}" in path:
        found.append(E.EndpointNotFound)
    if "Idempotency-Key" in params:
        found += [] if key in OPTIONAL_KEY else [E.MissingIdempotencyKey]
        found += [E.InvalidIdempotencyKey, E.IdempotencyKeyReused]
    if "requestBody" in operation and path.startswith("/v1/"):
        found.append(E.PayloadTooLarge)
    if params or "requestBody" in operation:
        found.append(E.ValidationFailed)
    return found


def _example(error: type[errors.DomainError]) -> dict[str, Any]:
    value: dict[str, Any] = {
        "type": "about:blank",
        "title": error.title,
        "status": error.status,
        "detail": error.title,
        "code": error.code,
    }
    if error is E.ValidationFailed:
        value["detail"] = "body.amount: Input should be greater than or equal to 1"
        value["errors"] = [
            {
                "loc": ["body", "amount"],
                "type": "greater_than_equal",
                "msg": "Input should be greater than or equal to 1",
            }
        ]
    value.update(EXAMPLE_FIGURES.get(error, {}))
    return value


def _examples_of(*names: str) -> dict[str, Any]:
    return {name: PROBLEM_FIGURES[name]["examples"][0] for name in names}


EXAMPLE_FIGURES: dict[type[errors.DomainError], dict[str, Any]] = {
    E.InsufficientCredits: {
        "detail": "100000 credits requested, 85 available",
        **_examples_of("requested", "available", "balance", "reserved"),
    },
    E.NegativeBalance: {
        "detail": "the balance is negative (-15)",
        "requested": 3,
        "available": 0,
        "balance": -15,
        "reserved": 0,
    },
    E.AccessSuspended: {
        "detail": "access suspended: the subscription is past due and its grace period has ended",
        "reason": "past_due",
        **_examples_of("grace_until"),
    },
    E.ReservationNotHeld: _examples_of("reservation_id", "reservation_status"),
    E.ReservationExpired: _examples_of("reservation_id", "expires_at"),
    E.TooManyReservations: _examples_of("held_reservations", "max_held_reservations"),
    E.PayloadTooLarge: _examples_of("max_bytes"),
    E.GrantNotFound: _examples_of("grant_id"),
    E.GrantExpired: _examples_of("grant_id", "grant_status"),
    E.NotReady: {"detail": "MongoDB does not answer", **_examples_of("missing")},
    E.DatabaseUnavailable: {"detail": "not ready: MongoDB does not answer"},
}


def _error_responses(found: list[type[errors.DomainError]]) -> dict[str, Any]:
    by_status: dict[int, list[type[errors.DomainError]]] = {}
    for error in dict.fromkeys(found):
        by_status.setdefault(error.status, []).append(error)
    responses = {}
    for status, group in sorted(by_status.items()):
        responses[str(status)] = {
            "description": " or ".join(f"{e.code} ({e.title})" for e in group),
            "content": {
                errors.PROBLEM_JSON: {
                    "schema": PROBLEM_REF,
                    "examples": {e.code: {"summary": e.title, "value": _example(e)} for e in group},
                }
            },
        }
    return responses


def _describe_fields(schemas: dict[str, Any]) -> None:
    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            words = field_words(name, field)
            if words is None:
                continue
            description, example = words
            prop.setdefault("description", description)
            if example is not None and "$ref" not in prop and "examples" not in prop:
                prop["examples"] = [example]
    for name, schema in schemas.items():
        if "properties" in schema:
            schema["examples"] = [_schema_example(name, schemas, set())]


def _value(prop: dict[str, Any], schemas: dict[str, Any], seen: set[str]) -> Any:
    if "$ref" in prop:
        ref = prop["$ref"].rsplit("/", 1)[-1]
        return None if ref in seen else _schema_example(ref, schemas, seen)
    if prop.get("examples"):
        return prop["examples"][0]
    if prop.get("type") == "array":
        item = _value(prop.get("items", {}), schemas, seen)
        return [] if item is None else [item]
    for option in prop.get("anyOf", []):
        if option.get("type") != "null":
            value = _value(option, schemas, seen)
            if value is not None:
                return value
    return None


def _schema_example(name: str, schemas: dict[str, Any], seen: set[str]) -> dict[str, Any]:
    schema = schemas[name]
    if schema.get("examples"):
        return schema["examples"][0]
    seen = seen | {name}
    return {
        field: _value(prop, schemas, seen) for field, prop in schema.get("properties", {}).items()
    }


_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _exact_bounds(node: Any) -> None:
    """Bounds as JSON Schema spells them: pydantic leaves `ge`/`le` as they are behind a
    validator that runs first (WholeNumber), and writes an integer's bounds as floats."""
    if isinstance(node, list):
        for item in node:
            _exact_bounds(item)
        return
    if not isinstance(node, dict):
        return
    for short, word in _BOUNDS.items():
        if short in node and isinstance(node[short], int | float):
            exact = node.pop(short)
            # FastAPI writes a json_schema_extra bound as a float (2^63 - 1 becomes 2^63):
            # the validator's own bound is the exact one.
            if not isinstance(node.get(word), int) or node[word] == exact:
                node[word] = exact
    if node.get("type") == "integer":
        for word in _BOUNDS.values():
            if isinstance(node.get(word), float) and node[word].is_integer():
                node[word] = int(node[word])
    for value in node.values():
        _exact_bounds(value)


def build_openapi(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shape: not ours
        schemas.pop(unused, None)
    schemas["Problem"] = copy.deepcopy(PROBLEM_SCHEMA)
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "A service API key (ck_..., from python -m app keys new) or, to read "
            "one's own account, a user JWT.",
        }
    }
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            key = f"{method.upper()} {path}"
            if path.startswith("/v1/"):
                operation["security"] = [{BEARER: []}]
            for param in operation.get("parameters", []):
                param.setdefault("description", PARAMETERS.get(param["name"], param["name"]))
                if param["name"] == "Idempotency-Key":
                    # Read by a dependency that answers 400 when it is missing (not FastAPI's
                    # 422), so FastAPI documents it optional: say what the server requires.
                    param["required"] = key not in OPTIONAL_KEY
                    param["schema"] = dict(IDEMPOTENCY_KEY_SCHEMA)
            if key == "POST /webhooks/stripe":
                operation["requestBody"] = copy.deepcopy(STRIPE_EVENT_BODY)
                for param in operation.get("parameters", []):
                    if param["name"] == "Stripe-Signature":
                        param["required"] = True
                        param["schema"] = {"type": "string"}
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            found = _implied_errors(key, path, operation) + SPECIFIC_ERRORS.get(key, [])
            responses.update(_error_responses(found))
    _describe_fields(schemas)
    _exact_bounds(doc)
    return doc


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        # Built once, on the first request for it.
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
