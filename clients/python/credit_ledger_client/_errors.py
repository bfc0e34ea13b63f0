"""The service's problem+json answers as exceptions, one class per stable code."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

V = TypeVar("V")


class CreditLedgerError(Exception):
    """An error answer of the service: `status`, `code`, `title`, `detail` and the whole
    problem body."""

    code = "error"

    def __init__(
        self, status: int, code: str, title: str, detail: str, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.body = body or {}


class _Field(Generic[V]):
    """A field of the problem body, read as an attribute of the error (None when absent)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, error: CreditLedgerError | None, owner: type | None = None) -> V | None:
        return None if error is None else error.body.get(self.name)


class _SpendingFigures:
    """A refused debit or hold: its numbers, as the service saw them (the problem's fields)."""

    requested = _Field[int]()
    available = _Field[int]()  # balance - reserved, at least 0
    balance = _Field[int]()
    reserved = _Field[int]()


class InsufficientCredits(CreditLedgerError, _SpendingFigures):
    code = "insufficient_credits"


class AccessSuspended(CreditLedgerError):
    code = "access_suspended"

    reason = _Field[str]()  # past_due, unpaid, paused or disputed


class NegativeBalance(CreditLedgerError, _SpendingFigures):
    code = "negative_balance"


class Unauthenticated(CreditLedgerError):
    code = "unauthenticated"


class Forbidden(CreditLedgerError):
    code = "forbidden"


class AccountNotFound(CreditLedgerError):
    code = "account_not_found"


class ReservationNotFound(CreditLedgerError):
    code = "reservation_not_found"


class IdempotencyKeyReused(CreditLedgerError):
    code = "idempotency_key_reused"


class ReservationNotHeld(CreditLedgerError):
    code = "reservation_not_held"


class ReservationExpired(CreditLedgerError):
    code = "reservation_expired"


class ValidationFailed(CreditLedgerError):
    code = "validation_error"

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors", []))


class PayloadTooLarge(CreditLedgerError):
    code = "payload_too_large"


class ServiceUnavailable(CreditLedgerError):
    """5xx answers until the retries ran out: the service is there but failing."""

    code = "service_unavailable"


class ConnectionFailed(Exception):
    """No answer at all until the retries ran out: the service is down, or the base URL
    (CREDIT_LEDGER_URL) points nowhere. The transport's error is the `__cause__`."""

    def __init__(self, url: str, attempts: int, error: Exception) -> None:
        super().__init__(
            f"could not reach {url} ({attempts} attempts): {type(error).__name__}: {error}"
        )
        self.url = url
        self.attempts = attempts


_BY_CODE: dict[str, type[CreditLedgerError]] = {
    cls.code: cls for cls in CreditLedgerError.__subclasses__()
}


def error_from_answer(status: int, body: Any) -> CreditLedgerError:
    """The exception for an error answer (problem+json, or anything else a proxy sent)."""
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("code") or f"http_{status}")
    title = str(body.get("title") or "")
    detail = str(body.get("detail") or title or f"HTTP {status}")
    cls = _BY_CODE.get(code, ServiceUnavailable if status >= 500 else CreditLedgerError)
    return cls(status, code, title, detail, body)
