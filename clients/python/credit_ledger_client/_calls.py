"""Each operation as a description of its request (method, path, body, key) and how to read
its answer; the async and sync clients only differ in how they send it."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from credit_ledger_client import _models as m
from credit_ledger_client._errors import CreditLedgerError, ServiceUnavailable, error_from_answer

T = TypeVar("T")
RETRIED_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any, bool], T]  # (JSON body, replayed) -> result
    json: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    # Made once per logical call, so that every retry of it carries the same key.
    idempotency_key: str | None = None

    def headers(self) -> dict[str, str]:
        return {"Idempotency-Key": self.idempotency_key} if self.idempotency_key else {}


def new_key() -> str:
    return f"clc-{uuid.uuid4().hex}"


def _seg(value: str) -> str:
    return quote(value, safe="")


def _body(**values: Any) -> dict[str, Any]:
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def account(account_id: str) -> Call[m.Account]:
    return Call("GET", f"/v1/accounts/{_seg(account_id)}", lambda d, _: m.Account.from_json(d))


def access(account_id: str, cost: int) -> Call[m.AccessDecision]:
    return Call(
        "GET",
        f"/v1/accounts/{_seg(account_id)}/access",
        lambda d, _: m.AccessDecision.from_json(d),
        params={"cost": cost},
    )


def grants(account_id: str) -> Call[list[m.Grant]]:
    return Call(
        "GET",
        f"/v1/accounts/{_seg(account_id)}/grants",
        lambda d, _: [m.Grant.from_json(g) for g in d["data"]],
    )


def ledger(
    account_id: str, limit: int, starting_after: str | None, type: str | None
) -> Call[m.LedgerPage]:  # noqa: A002 - the API's name
    params = _body(limit=limit, starting_after=starting_after, type=type)
    return Call(
        "GET",
        f"/v1/accounts/{_seg(account_id)}/ledger",
        lambda d, _: m.LedgerPage.from_json(d),
        params=params,
    )


def reservation(reservation_id: str) -> Call[m.Reservation]:
    return Call(
        "GET", f"/v1/reservations/{_seg(reservation_id)}", lambda d, _: m.Reservation.from_json(d)
    )


def debit(
    account_id: str,
    amount: int,
    description: str | None,
    metadata: dict[str, Any] | None,
    key: str | None,
) -> Call[m.EntryResult]:
    return Call(
        "POST",
        f"/v1/accounts/{_seg(account_id)}/debits",
        m.EntryResult.from_json,
        _body(amount=amount, description=description, metadata=metadata),
        idempotency_key=key or new_key(),
    )


def grant(
    account_id: str,
    amount: int,
    kind: str,
    description: str,
    expires_at: datetime | None,
    metadata: dict[str, Any] | None,
    key: str | None,
) -> Call[m.EntryResult]:
    return Call(
        "POST",
        f"/v1/accounts/{_seg(account_id)}/grants",
        m.EntryResult.from_json,
        _body(
            amount=amount,
            kind=kind,
            description=description,
            expires_at=expires_at,
            metadata=metadata,
        ),
        idempotency_key=key or new_key(),
    )


def adjust(
    account_id: str, amount: int, reason: str, metadata: dict[str, Any] | None, key: str | None
) -> Call[m.EntryResult]:
    return Call(
        "POST",
        f"/v1/accounts/{_seg(account_id)}/adjustments",
        m.EntryResult.from_json,
        _body(amount=amount, reason=reason, metadata=metadata),
        idempotency_key=key or new_key(),
    )


def reserve(
    account_id: str,
    amount: int,
    ttl_seconds: int | None,
    description: str | None,
    metadata: dict[str, Any] | None,
    key: str | None,
) -> Call[m.Reservation]:
    return Call(
        "POST",
        f"/v1/accounts/{_seg(account_id)}/reservations",
        lambda d, _: m.Reservation.from_json(d),
        _body(amount=amount, ttl_seconds=ttl_seconds, description=description, metadata=metadata),
        idempotency_key=key or new_key(),
    )


def capture(reservation_id: str, amount: int | None, key: str | None) -> Call[m.CaptureResult]:
    return Call(
        "POST",
        f"/v1/reservations/{_seg(reservation_id)}/capture",
        m.CaptureResult.from_json,
        _body(amount=amount),
        idempotency_key=key or new_key(),
    )


def release(reservation_id: str, key: str | None) -> Call[m.Reservation]:
    return Call(
        "POST",
        f"/v1/reservations/{_seg(reservation_id)}/release",
        lambda d, _: m.Reservation.from_json(d),
        idempotency_key=key or new_key(),
    )


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: float = 0.25  # seconds before the first retry; doubles each time, with jitter
    max_backoff: float = 5.0

    def delay(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * 2**attempt)
        return base * (0.5 + random.random() / 2)


def outcome(call: Call[T], response: httpx.Response) -> T | CreditLedgerError:
    """The result, or the error to raise (a ServiceUnavailable is worth a retry)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        return call.parse(body, response.headers.get("Idempotent-Replayed") == "true")
    return error_from_answer(response.status_code, body)


def retryable(result: object) -> bool:
    return isinstance(result, ServiceUnavailable) and result.status in RETRIED_STATUSES


def unreachable(error: httpx.TransportError) -> ServiceUnavailable:
    return ServiceUnavailable(
        0, "service_unavailable", "Service unavailable", f"{type(error).__name__}: {error}"
    )
