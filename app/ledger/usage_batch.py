"""A batch of usage records (POST /v1/usage): each record is a debit of its own account under its
own idempotency key, answered on its own. The batch's keys are read in one call; the records
are applied in units of work of up to UNIT_ACCOUNTS accounts, each with a constant number of
collection calls whatever its records (usage_unit.py); a unit that a concurrent write to one
of its accounts makes re-run is split in two instead (docs/design.md, "Usage in batches")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError
from pymongo.errors import BulkWriteError, DuplicateKeyError

from app.kit.errors import DomainError, IdempotencyKeyReused, InvalidIdempotencyKey
from app.ledger.batch_schemas import UsageRecord
from app.ledger.documents import EntryDoc
from app.ledger.expiry import after_expiry_of
from app.ledger.idempotency import check_caller_key, fingerprint, replayed
from app.ledger.metering import RateCard
from app.ledger.repository import Doc, Repositories
from app.ledger.usage_unit import Spent, Usage, debit_accounts
from app.storage.database import Session

# A new record's answer (the body of the debit it made), from its entry and the account right
# after it; `Answers` makes one for each run of a unit (it may show each account once per run).
Answer = Callable[[EntryDoc, Doc], dict[str, Any]]
Answers = Callable[[], Answer]
# One record's answer, as batch_schemas.UsageResult says (plain dicts: a batch answers 1,000
# of them, and the answer is already made of JSON values).
UsageResult = dict[str, Any]

# Accounts per unit of work at most. A unit holds its accounts from its write to its commit,
# and a concurrent commit to any of them re-runs it whole: 32 accounts keep both small on a
# replica set, while a batch of 1,000 records over 100 accounts is still 4 units, not 100.
UNIT_ACCOUNTS = 32
DUPLICATE_KEY = 11000


@dataclass
class _Record:
    index: int
    record: UsageRecord
    print_: str
    result: UsageResult | None = None

    @property
    def id(self) -> tuple[str, str]:
        return self.record.account_id, self.record.idempotency_key


@dataclass(frozen=True)
class _Answered:
    """A new record's answer as JSON text, encoded once: its entry, and its account right
    after it. The stored answer (a single debit's body: a retry of the record as a debit
    replays it) and the batch's response are both made of the two."""

    entry: bytes
    account: bytes

    @classmethod
    def of(cls, body: dict[str, Any]) -> _Answered:
        return cls(orjson.dumps(body["entry"]), orjson.dumps(body["account"]))

    def text(self) -> str:
        return f'{{"entry":{self.entry.decode()},"account":{self.account.decode()}}}'


class _Contended(Exception):
    """A unit of several accounts ran into a concurrent write: split rather than re-run."""


async def apply_batch(
    repos: Repositories,
    rates: RateCard,
    records: list[dict[str, Any]],
    now: datetime,
    *,
    actor: str,
    answers: Answers,
) -> dict[str, Any]:
    """Every record answered: 201 (debited, or the first answer again), or the refusal a debit
    of it alone would get (402, 403, 404, 409, 422). A refused record never holds back
    another, and writes nothing."""
    results: list[UsageResult | None] = [None] * len(records)
    parsed: list[_Record] = []
    for index, raw in enumerate(records):
        checked = _parse(index, raw)
        if isinstance(checked, dict):
            results[index] = checked
        else:
            parsed.append(_Record(index, checked, fingerprint("debit", checked.request())))
    fresh, repeats = await _fresh(repos, parsed)
    units = _Units(repos, rates, now, actor, answers)
    for chunk in _chunks(fresh):
        await units.apply(chunk)
    for repeat, first in repeats:  # a key twice in the batch: the first's answer, or a reuse
        repeat.result = _repeat(repeat, first)
    for done in parsed:
        results[done.index] = done.result
    answered = [result for result in results if result is not None]
    counts: dict[str, int] = {}
    for result in answered:
        counts[str(result["status"])] = counts.get(str(result["status"]), 0) + 1
    return {"results": answered, "counts": counts}


async def _fresh(
    repos: Repositories, parsed: list[_Record]
) -> tuple[dict[str, list[_Record]], list[tuple[_Record, _Record]]]:
    """The records to apply, by account in order; the others are answered from one read of
    the batch's keys (replays), or after the first record of their key (repeats)."""
    if not parsed:
        return {}, []
    stored = await repos.idempotency.get_many(None, list(dict.fromkeys(i.id for i in parsed)))
    fresh: dict[str, list[_Record]] = {}
    first_of: dict[tuple[str, str], _Record] = {}
    repeats: list[tuple[_Record, _Record]] = []
    for item in parsed:
        if (record := stored.get(item.id)) is not None:
            item.result = _replay(item, record)
        elif (first := first_of.get(item.id)) is not None:
            repeats.append((item, first))
        else:
            first_of[item.id] = item
            fresh.setdefault(item.record.account_id, []).append(item)
    return fresh, repeats


def _chunks(fresh: dict[str, list[_Record]]) -> list[dict[str, list[_Record]]]:
    """The accounts in units of UNIT_ACCOUNTS at most, as even as can be."""
    accounts = list(fresh)
    if not accounts:
        return []
    size = -(-len(accounts) // -(-len(accounts) // UNIT_ACCOUNTS))
    return [{a: fresh[a] for a in accounts[i : i + size]} for i in range(0, len(accounts), size)]


@dataclass
class _Units:
    """How a batch's chunks are applied: each in a unit of work of its own."""

    repos: Repositories
    rates: RateCard
    now: datetime
    actor: str
    answers: Answers

    async def apply(self, chunk: dict[str, list[_Record]]) -> None:
        """The chunk's records in one unit of work, their answers stored in it. A key that a
        concurrent request committed meanwhile undoes the unit: that record replays, the
        others run again. A unit of several accounts that must re-run is split in two."""
        while chunk:
            try:
                spent = await after_expiry_of(self.repos, self.now, self._unit_of(chunk))
            except _Contended:
                accounts = list(chunk)
                half = len(accounts) // 2
                for part in (accounts[:half], accounts[half:]):
                    await self.apply({a: chunk[a] for a in part})
                return
            except (DuplicateKeyError, BulkWriteError) as exc:
                if not _duplicate(exc):
                    raise
                chunk = await _without_stored(self.repos, chunk, exc)
                continue
            for account_id, group in chunk.items():
                for item, outcome in zip(group, spent[account_id], strict=True):
                    item.result = _answer(item, outcome)
            await _replays_of_refused(self.repos, [i for group in chunk.values() for i in group])
            return

    def _unit_of(
        self, chunk: dict[str, list[_Record]]
    ) -> Callable[[], Callable[[Session], Awaitable[dict[str, list[Any]]]]]:
        """Makes the work of one try of the chunk's unit (each transaction starts its own)."""
        repos, now = self.repos, self.now

        def make() -> Callable[[Session], Awaitable[dict[str, list[Any]]]]:
            runs = 0

            async def unit(session: Session) -> dict[str, list[Any]]:
                nonlocal runs
                runs += 1
                if runs > 1 and len(chunk) > 1:
                    raise _Contended
                usages = {a: [_usage(r.record) for r in group] for a, group in chunk.items()}
                spent = await debit_accounts(
                    session, repos, self.rates, usages, now, actor=self.actor
                )
                answer = self.answers()
                answered: dict[str, list[Any]] = {}
                records: list[tuple[str, str, Doc]] = []
                for account_id, group in chunk.items():
                    answered[account_id] = [_body(o, answer) for o in spent[account_id]]
                    records += [
                        (account_id, item.record.idempotency_key, _stored(item.print_, body, now))
                        for item, body in zip(group, answered[account_id], strict=True)
                        if isinstance(body, _Answered)
                    ]
                # Last, as a debit alone writes it: a key committed meanwhile undoes the unit.
                await repos.idempotency.insert_of_accounts(session, records)
                return answered

            return unit

        return make


def _body(outcome: Spent, answer: Answer) -> _Answered | DomainError:
    return outcome if isinstance(outcome, DomainError) else _Answered.of(answer(*outcome))


async def _without_stored(
    repos: Repositories, chunk: dict[str, list[_Record]], exc: Exception
) -> dict[str, list[_Record]]:
    """The chunk without the records whose key is now stored (answered as replays)."""
    items = [i for group in chunk.values() for i in group]
    stored = await repos.idempotency.get_many(None, [i.id for i in items])
    if not stored:
        raise exc
    for item in items:
        if (record := stored.get(item.id)) is not None:
            item.result = _replay(item, record)
    left = {a: [i for i in group if i.result is None] for a, group in chunk.items()}
    return {a: group for a, group in left.items() if group}


def _duplicate(exc: Exception) -> bool:
    if isinstance(exc, DuplicateKeyError):
        return True
    errors = (getattr(exc, "details", None) or {}).get("writeErrors", [])
    return any(e.get("code") == DUPLICATE_KEY for e in errors)


def _parse(index: int, raw: dict[str, Any]) -> UsageRecord | UsageResult:
    try:
        record = UsageRecord.model_validate(raw)
        check_caller_key(record.idempotency_key)
        return record
    except ValidationError as invalid:
        errors = [
            {
                "loc": ["body", "records", index, *map(str, e["loc"])],
                "msg": e["msg"],
                "type": e["type"],
            }
            for e in invalid.errors(include_url=False, include_input=False, include_context=False)
        ]
    except InvalidIdempotencyKey as bad_key:
        errors = [
            {
                "loc": ["body", "records", index, "idempotency_key"],
                "msg": bad_key.detail,
                "type": "value_error",
            }
        ]
    account_id, key = _echoed(raw.get("account_id")), _echoed(raw.get("idempotency_key"))
    first = errors[0]
    detail = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    problem = {
        "type": "about:blank",
        "title": "Validation error",
        "status": 422,
        "detail": detail,
        "code": "validation_error",
        "errors": errors,
    }
    return _shaped(index, account_id, key, 422, False, problem=problem)


def _echoed(value: Any) -> str | None:
    """A refused record's account or key, shown in its answer when it is text that JSON can
    carry (a lone surrogate, `"\\ud800"` in the request, cannot be written as UTF-8)."""
    if not isinstance(value, str):
        return None
    try:
        value.encode()
    except UnicodeEncodeError:
        return None
    return value


def _usage(record: UsageRecord) -> Usage:
    return Usage(
        key=record.idempotency_key,
        amount=record.amount,
        meter=record.meter,
        quantity=record.quantity,
        occurred_at=record.occurred_at,
        description=record.description,
        metadata=record.metadata,
    )


def _stored(print_: str, answered: _Answered, now: datetime) -> Doc:
    # The answer as its JSON text: one string for the engine to store, not a document of
    # fifty fields to walk (idempotency.replayed reads either).
    return {"fingerprint": print_, "status": 201, "body": answered.text(), "created_at": now}


def _answer(item: _Record, outcome: _Answered | DomainError) -> UsageResult:
    if isinstance(outcome, DomainError):
        return _refused(item, outcome)
    body = {"entry": orjson.Fragment(outcome.entry), "account": orjson.Fragment(outcome.account)}
    return _result(item, 201, body, replayed=False)


def _replay(item: _Record, record: Doc) -> UsageResult:
    try:
        outcome = replayed(record, item.print_)
    except DomainError as refused:
        return _refused(item, refused)
    return _result(item, outcome.status, outcome.body, replayed=True)


def _repeat(item: _Record, first: _Record) -> UsageResult:
    assert first.result is not None
    if item.print_ != first.print_:
        return _refused(
            item,
            IdempotencyKeyReused("this idempotency key was already used with a different request"),
        )
    if first.result["status"] != 201:
        return {**first.result, "index": item.index}
    return {**first.result, "index": item.index, "replayed": True}


async def _replays_of_refused(repos: Repositories, applied: list[_Record]) -> None:
    """A refused record whose key a concurrent request used meanwhile (its retry committed
    first and spent the balance) gets that request's answer, as a single debit would."""
    refused = [i for i in applied if i.result is not None and i.result["status"] != 201]
    if not refused:
        return
    stored = await repos.idempotency.get_many(None, [i.id for i in refused])
    for item in refused:
        record = stored.get(item.id)
        if record is not None:
            item.result = _replay(item, record)


def _result(item: _Record, status: int, body: dict[str, Any], *, replayed: bool) -> UsageResult:
    record = item.record
    return _shaped(
        item.index,
        record.account_id,
        record.idempotency_key,
        status,
        replayed,
        entry=body.get("entry"),
        account=body.get("account"),
    )


def _shaped(
    index: int,
    account_id: str | None,
    key: str | None,
    status: int,
    replayed: bool,
    *,
    entry: Doc | orjson.Fragment | None = None,
    account: Doc | orjson.Fragment | None = None,
    problem: Doc | None = None,
) -> UsageResult:
    return {
        "index": index,
        "account_id": account_id,
        "idempotency_key": key,
        "status": status,
        "replayed": replayed,
        "entry": entry,
        "account": account,
        "problem": problem,
    }


def _refused(item: _Record, refused: DomainError) -> UsageResult:
    problem = {
        "type": "about:blank",
        "title": refused.title,
        "status": refused.status,
        "detail": refused.detail,
        "code": refused.code,
        **refused.extra,
    }
    record = item.record
    return _shaped(
        item.index,
        record.account_id,
        record.idempotency_key,
        refused.status,
        False,
        problem=problem,
    )
