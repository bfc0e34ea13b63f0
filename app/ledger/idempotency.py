"""Idempotency-Key semantics: one key does one thing; a retry gets the first answer again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pymongo.errors import DuplicateKeyError

from app.kit.errors import (
    DomainError,
    IdempotencyKeyExpired,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
)
from app.ledger.expiry import after_expiry
from app.ledger.repository import Repositories
from app.storage.database import Session


class KeyAhead(DuplicateKeyError):
    """A request whose key a request ahead of it in this process carries (group commit): it
    looks its key up again once that one is done, as often as it meets one, and replays its
    answer (or runs, if that one was refused and stored nothing)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} is taken by a request ahead of this one")


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool


# Ledger entries the service makes for itself are keyed by their cause: the Stripe object
# ("invoice:in_...") or the yearly plan's month ("allocation:..."). Keys given by callers (API
# and console) share the (account, key) namespace, so these prefixes are the service's alone:
# a caller's key that starts with one is refused, and can never match a derived key.
DERIVED_KEY_PREFIXES = (
    "invoice:",
    "checkout:",
    "trial:",
    "upgrade:",
    "refund:",
    "dispute:",
    "rollover:",
    "allocation:",
)
STRIPE_KEY_PREFIXES = DERIVED_KEY_PREFIXES  # the name verify.py and older code use


def check_caller_key(key: str) -> str:
    """An Idempotency-Key given by a caller: 1-255 printable ASCII characters, outside the
    service's own namespace; InvalidIdempotencyKey (400) otherwise."""
    # isprintable() of an ASCII string: every character from " " to "~".
    if not 1 <= len(key) <= 255 or not (key.isascii() and key.isprintable()):
        raise InvalidIdempotencyKey("Idempotency-Key must be 1-255 printable ASCII characters")
    if key.lower().startswith(DERIVED_KEY_PREFIXES):
        raise InvalidIdempotencyKey(
            f"Idempotency-Key prefixes {', '.join(DERIVED_KEY_PREFIXES)} are reserved for the "
            "entries the service makes itself (Stripe events, yearly plans' months)"
        )
    return key


def fingerprint(operation: str, request: dict[str, Any]) -> str:
    """What makes two requests "the same": the operation and its normalised body."""
    canonical = json.dumps({"op": operation, "body": request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_idempotent(
    repos: Repositories,
    account_id: str,
    key: str,
    print_: str,
    now: datetime,
    work: Callable[[Session], Awaitable[dict[str, Any]]],
    status: int,
    *,
    seen: bool = True,
    retry: bool = True,
) -> Outcome:
    """Run `work` once per (account, key), in one transaction with its stored answer. A replay
    is one read and no transaction. `seen=False`: the caller knows the key is new here (the
    hold it resolves is still held), so that read is skipped. What is due on the account is
    expired first, in a transaction of its own (see `after_expiry`)."""

    async def unit(session: Session) -> Outcome:
        body = await work(session)
        # Last, so the contended account write stays first; a concurrent request with the
        # same key makes this insert conflict or a duplicate, and the whole unit is undone.
        await repos.idempotency.insert(
            session,
            account_id,
            key,
            {"fingerprint": print_, "status": status, "body": body, "created_at": now},
        )
        return Outcome(status, body, replayed=False)

    return await idempotently(
        repos,
        account_id,
        key,
        print_,
        lambda: after_expiry(repos, account_id, now, unit),
        seen=seen,
        retry=retry,
    )


async def idempotently(
    repos: Repositories,
    account_id: str,
    key: str,
    print_: str,
    apply: Callable[[], Awaitable[Outcome]],
    *,
    seen: bool = True,
    retry: bool = True,
) -> Outcome:
    """`apply()` once per (account, key): it stores its answer with its work (its own unit of
    work, or a batch's: see group_commit.py). A refused request (an exception) stores
    nothing, so it may be retried with the same key; a refusal first reads the key again: a
    request with the same key may have committed since it was read, and this one then answers
    with that one's answer."""
    if seen:
        record = await repos.idempotency.get(None, account_id, key)
        if record is not None:
            return replayed(record, print_)
    try:
        return await apply()
    except DomainError:
        # Refused on what the original changed (its debit spent the balance, its capture
        # resolved the hold): the original's answer, if it is the one that committed.
        record = await repos.idempotency.get(None, account_id, key)
        if record is not None:
            return replayed(record, print_)
        raise
    except KeyAhead:
        # Each request ahead with this key ends before this is raised: this one ends too.
        return await idempotently(repos, account_id, key, print_, apply, retry=retry)
    except DuplicateKeyError:
        if not retry:
            raise
        # A concurrent request with the same key committed first, or the key was used for
        # something else on this account: this one replays it (or is refused as a reuse).
        return await idempotently(repos, account_id, key, print_, apply, retry=False)


def replayed(record: Mapping[str, Any], print_: str) -> Outcome:
    """The first answer again, if `record` was stored for the same request."""
    if record["fingerprint"] != print_:
        raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request")
    if "body" not in record:
        # Its answer outlived IDEMPOTENCY_ANSWER_RETENTION_DAYS; the key still did its one
        # thing, so the retry must not do it again.
        raise IdempotencyKeyExpired(
            "this Idempotency-Key was used long ago and its answer is no longer kept; the "
            "request it made took effect once (see the ledger)"
        )
    body = record["body"]
    if isinstance(body, str):  # a usage batch stores its records' answers as their JSON text
        body = orjson.loads(body)
    return Outcome(record["status"], body, replayed=True)
