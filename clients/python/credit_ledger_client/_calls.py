"""Each operation as a description of its request (method, path, body, key) and how to read
its answer; the async and sync clients only differ in how they send it."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from credit_ledger_client import _models as m
from credit_ledger_client._errors import CreditLedgerError, ServiceUnavailable, error_from_answer

T = TypeVar("T")

# How each client waits between retries (asyncio.sleep, time.sleep, or a test's recorder); the
# sync client's name is what unasync makes of the async one's.
AsyncSleep = Callable[[float], Awaitable[Any]]
Sleep = Callable[[float], Any]
OnResults = Callable[[m.UsageBatchResult], Any]  # what a batcher hands each batch's answer to
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
URL_VARIABLE = "CREDIT_LEDGER_URL"
KEY_VARIABLE = "CREDIT_LEDGER_API_KEY"
# A hold's capture and release keys are its own key with these ends: a job redelivered with
# the same key replays the hold, then its capture or release, instead of doing them again.
CAPTURE_END = ":capture"
RELEASE_END = ":release"
MAX_KEY = 255  # the service's limit on an Idempotency-Key


def base_url_and_key(
    base_url: str | None, api_key: str | None, has_client: bool
) -> tuple[str, str]:
    """The arguments, else CREDIT_LEDGER_URL and CREDIT_LEDGER_API_KEY."""
    url = base_url if base_url is not None else os.environ.get(URL_VARIABLE, "")
    key = api_key if api_key is not None else os.environ.get(KEY_VARIABLE, "")
    if not url and not has_client:
        raise ValueError(f"no base URL: pass base_url or set {URL_VARIABLE}")
    return url, key


def hold_keys(key: str | None) -> tuple[str, str, str]:
    """The hold's reserve, capture and release keys, all from one."""
    key = key or new_key()
    if not 1 <= len(key) <= MAX_KEY - len(RELEASE_END) or not key.isascii():
        raise ValueError(f"a hold's idempotency key is 1-{MAX_KEY - len(RELEASE_END)} ASCII chars")
    return key, key + CAPTURE_END, key + RELEASE_END


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


def _write(
    path: str, parse: Callable[[Any, bool], T], body: dict[str, Any] | None, key: str | None
) -> Call[T]:
    """A POST that writes: its Idempotency-Key is the caller's, else a new one."""
    return Call("POST", path, parse, body, idempotency_key=key or new_key())


def _reservation(d: Any, replayed: bool) -> m.Reservation:
    return m.Reservation.from_json(d)


def account(account_id: str) -> Call[m.Account]:
    return Call("GET", f"/v1/accounts/{_seg(account_id)}", lambda d, _: m.Account.from_json(d))


def access(
    account_id: str, cost: int, meter: str | None = None, quantity: int | None = None
) -> Call[m.AccessDecision]:
    params = {"cost": cost} if meter is None else _body(meter=meter, quantity=quantity)
    return Call(
        "GET",
        f"/v1/accounts/{_seg(account_id)}/access",
        lambda d, _: m.AccessDecision.from_json(d),
        params=params,
    )


MAX_BATCH = 1000  # records per POST /v1/usage


def spend(
    amount: int | None, meter: str | None, quantity: int | None, occurred_at: datetime | None
) -> dict[str, Any]:
    """The body's spend: an amount, or a meter and a quantity (with its time)."""
    if (amount is None) == (meter is None) or (meter is None) != (quantity is None):
        raise ValueError("give an amount, or a meter and a quantity")
    if occurred_at is not None and meter is None:
        raise ValueError("occurred_at goes with a meter (it picks the meter's price)")
    return _body(amount=amount, meter=meter, quantity=quantity, occurred_at=occurred_at)


def usage_record(
    account_id: str,
    amount: int | None,
    meter: str | None,
    quantity: int | None,
    occurred_at: datetime | None,
    idempotency_key: str | None,
    description: str | None,
    metadata: dict[str, Any] | None,
) -> dict[str, Any]:
    """One record of a usage batch, stamped with its key and (by meter) its time now."""
    # Usage by meter is priced at its time: stamped now, not when the batch goes.
    stamped = occurred_at or (datetime.now(UTC) if meter is not None else None)
    record = {
        "account_id": account_id,
        "idempotency_key": idempotency_key or new_key(),
        **spend(amount, meter, quantity, stamped),
    }
    if description is not None:
        record["description"] = description
    if metadata:
        record["metadata"] = metadata
    return record


def usage(records: list[dict[str, Any]]) -> Call[m.UsageBatchResult]:
    if not 1 <= len(records) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} records")
    return Call("POST", "/v1/usage", m.UsageBatchResult.from_json, {"records": records})


def _page(item: Callable[[dict[str, Any]], T]) -> Callable[[Any, bool], m.Page[T]]:
    return lambda d, _: m.Page([item(x) for x in d["data"]], d["has_more"], d.get("next_cursor"))


def grants(account_id: str, limit: int, starting_after: str | None) -> Call[m.Page[m.Grant]]:
    return Call(
        "GET",
        f"/v1/accounts/{_seg(account_id)}/grants",
        _page(m.Grant.from_json),
        params=_body(limit=limit, starting_after=starting_after),
    )


def events(
    account_id: str | None, type: str | None, limit: int, starting_after: str | None
) -> Call[m.Page[m.Event]]:  # noqa: A002 - the API's name
    return Call(
        "GET",
        "/v1/events",
        _page(m.Event.from_json),
        params=_body(account_id=account_id, type=type, limit=limit, starting_after=starting_after),
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
    return Call("GET", f"/v1/reservations/{_seg(reservation_id)}", _reservation)


def debit(
    account_id: str,
    spent: dict[str, Any],
    description: str | None,
    metadata: dict[str, Any] | None,
    key: str | None,
) -> Call[m.EntryResult]:
    body = {**spent, **_body(description=description, metadata=metadata)}
    return _write(f"/v1/accounts/{_seg(account_id)}/debits", m.EntryResult.from_json, body, key)


def grant(
    account_id: str,
    amount: int,
    kind: str,
    description: str,
    expires_at: datetime | None,
    metadata: dict[str, Any] | None,
    key: str | None,
) -> Call[m.EntryResult]:
    body = _body(
        amount=amount, kind=kind, description=description, expires_at=expires_at, metadata=metadata
    )
    return _write(f"/v1/accounts/{_seg(account_id)}/grants", m.EntryResult.from_json, body, key)


def adjust(
    account_id: str, amount: int, reason: str, metadata: dict[str, Any] | None, key: str | None
) -> Call[m.EntryResult]:
    body = _body(amount=amount, reason=reason, metadata=metadata)
    path = f"/v1/accounts/{_seg(account_id)}/adjustments"
    return _write(path, m.EntryResult.from_json, body, key)


def reserve(
    account_id: str,
    spent: dict[str, Any],
    ttl_seconds: int | None,
    description: str | None,
    metadata: dict[str, Any] | None,
    key: str | None,
) -> Call[m.Reservation]:
    body = {**spent, **_body(ttl_seconds=ttl_seconds, description=description, metadata=metadata)}
    return _write(f"/v1/accounts/{_seg(account_id)}/reservations", _reservation, body, key)


def capture(reservation_id: str, amount: int | None, key: str | None) -> Call[m.CaptureResult]:
    path = f"/v1/reservations/{_seg(reservation_id)}/capture"
    return _write(path, m.CaptureResult.from_json, _body(amount=amount), key)


def release(reservation_id: str, key: str | None) -> Call[m.Reservation]:
    return _write(f"/v1/reservations/{_seg(reservation_id)}/release", _reservation, None, key)


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


def target(http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> str:
    """Where a call went, for the message of a connection failure (never the key)."""
    return str(http.base_url.join(call.path)) if str(http.base_url) else call.path
