"""A batch of usage records (POST /v1/usage): each record is a debit of its own account under its
own idempotency key, answered on its own; the records of one account are applied in one unit of
work (debits.debit_group), so a batch costs one transaction per account, not per record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pymongo.errors import DuplicateKeyError

from app.kit.errors import DomainError, IdempotencyKeyReused, InvalidIdempotencyKey
from app.ledger.batch_schemas import UsageRecord
from app.ledger.debits import Spend, Spent, debit_group
from app.ledger.documents import EntryDoc
from app.ledger.expiry import after_expiry
from app.ledger.idempotency import check_caller_key, fingerprint, replayed
from app.ledger.metering import RateCard
from app.ledger.repository import Doc, Repositories
from app.storage.database import Session

# A stored answer for a new record: (status, body) of the debit it made.
Answer = Callable[[EntryDoc, Doc], dict[str, Any]]
# One record's answer, as batch_schemas.UsageResult says (plain dicts: a batch answers 1,000
# of them, and the answer is already made of JSON values).
UsageResult = dict[str, Any]


@dataclass
class _Record:
    index: int
    record: UsageRecord
    print_: str
    result: UsageResult | None = None


async def apply_batch(
    repos: Repositories,
    rates: RateCard,
    records: list[dict[str, Any]],
    now: datetime,
    *,
    actor: str,
    answer: Answer,
) -> dict[str, Any]:
    """Every record answered: 201 (debited, or the first answer again), or the refusal a debit
    of it alone would get (402, 403, 404, 409, 422). A refused record never holds back
    another, and writes nothing."""
    results: list[UsageResult | None] = [None] * len(records)
    groups: dict[str, list[_Record]] = {}
    for index, raw in enumerate(records):
        parsed = _parse(index, raw)
        if isinstance(parsed, dict):
            results[index] = parsed
            continue
        print_ = fingerprint("debit", parsed.request())
        groups.setdefault(parsed.account_id, []).append(_Record(index, parsed, print_))
    for account_id, group in groups.items():
        for done in await _apply_group(repos, rates, account_id, group, now, actor, answer):
            results[done.index] = done.result
    answered = [result for result in results if result is not None]
    counts: dict[str, int] = {}
    for result in answered:
        counts[str(result["status"])] = counts.get(str(result["status"]), 0) + 1
    return {"results": answered, "counts": counts}


def _parse(index: int, raw: dict[str, Any]) -> UsageRecord | UsageResult:
    account_id = raw.get("account_id") if isinstance(raw.get("account_id"), str) else None
    key = raw.get("idempotency_key") if isinstance(raw.get("idempotency_key"), str) else None
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


async def _apply_group(
    repos: Repositories,
    rates: RateCard,
    account_id: str,
    group: list[_Record],
    now: datetime,
    actor: str,
    answer: Answer,
    *,
    retry: bool = True,
) -> list[_Record]:
    """One account's records: replays answered from one read of their keys, the new ones
    debited in one unit of work (its answers stored in the same unit)."""
    stored = await repos.idempotency.get_many(
        None, account_id, [r.record.idempotency_key for r in group]
    )
    fresh: list[_Record] = []
    first_of: dict[str, _Record] = {}
    for item in group:
        key = item.record.idempotency_key
        if key in stored:
            item.result = _replay(item, stored[key])
        elif key in first_of:
            continue  # the same key twice in one batch: answered from the first, below
        else:
            first_of[key] = item
            fresh.append(item)

    async def unit(session: Session) -> list[Spent]:
        spent = await debit_group(
            session, repos, rates, account_id, [_spend(r.record) for r in fresh], now, actor=actor
        )
        records = [
            (r.record.idempotency_key, _stored(r.print_, answer(*outcome), now))
            for r, outcome in zip(fresh, spent, strict=True)
            if not isinstance(outcome, DomainError)
        ]
        await repos.idempotency.insert_many(session, account_id, records)
        return spent

    if fresh:
        try:
            spent = await after_expiry(repos, account_id, now, unit)
        except DomainError as refused:  # the account itself: unknown (404)
            spent = [refused] * len(fresh)
        except DuplicateKeyError:
            if not retry:
                raise
            # A key of the group was taken meanwhile (a concurrent retry): read them again.
            for item in group:
                item.result = None
            return await _apply_group(
                repos, rates, account_id, group, now, actor, answer, retry=False
            )
        for item, outcome in zip(fresh, spent, strict=True):
            item.result = _answer(item, outcome, answer)
        await _replays_of_refused(repos, account_id, fresh)
    for item in group:
        if item.result is None:  # a repeated key: the first's answer, or a reuse
            first = first_of[item.record.idempotency_key]
            item.result = _repeat(item, first)
    return group


def _spend(record: UsageRecord) -> Spend:
    return Spend(
        key=record.idempotency_key,
        amount=record.amount,
        meter=record.meter,
        quantity=record.quantity,
        occurred_at=record.occurred_at,
        description=record.description,
        metadata=record.metadata,
    )


def _stored(print_: str, body: dict[str, Any], now: datetime) -> Doc:
    return {"fingerprint": print_, "status": 201, "body": body, "created_at": now}


def _answer(item: _Record, outcome: Spent, answer: Answer) -> UsageResult:
    if isinstance(outcome, DomainError):
        return _refused(item, outcome)
    body = answer(*outcome)
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


async def _replays_of_refused(repos: Repositories, account_id: str, fresh: list[_Record]) -> None:
    """A refused record whose key a concurrent request used meanwhile (its retry committed
    first and spent the balance) gets that request's answer, as a single debit would."""
    refused = [i for i in fresh if i.result is not None and i.result["status"] != 201]
    if not refused:
        return
    stored = await repos.idempotency.get_many(
        None, account_id, [i.record.idempotency_key for i in refused]
    )
    for item in refused:
        record = stored.get(item.record.idempotency_key)
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
    entry: Doc | None = None,
    account: Doc | None = None,
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
