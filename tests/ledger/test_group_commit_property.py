"""Property: for any sequence of debits and holds of one account (some refused: too little
available, too many holds, a negative balance), group commit's unit of work answers each
request exactly as the requests answer when sent one by one, in that (arrival) order, to a
service without group commit; and a retry of each with its key replays that answer."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.kit.errors import DomainError
from app.ledger import schemas
from app.ledger.idempotency import fingerprint
from app.ledger.spends import Spend, apply_spends
from app.storage.database import connect
from tests.support.settings import START, auth, make_settings
from tests.support.verify import assert_verified

ACCOUNT = "acct_p"
EXAMPLES = int(os.environ.get("GROUP_COMMIT_EXAMPLES", "25"))

requests = st.lists(
    st.tuples(st.sampled_from(["debit", "hold"]), st.integers(1, 25)), min_size=1, max_size=10
)
grants = st.lists(st.tuples(st.integers(1, 30), st.booleans()), min_size=1, max_size=3)


def _body(kind: str, amount: int) -> dict[str, Any]:
    return {"amount": amount, "description": f"{kind} of {amount}"}


def _path(kind: str) -> str:
    return f"/v1/accounts/{ACCOUNT}/{'debits' if kind == 'debit' else 'reservations'}"


class Service:
    """One service over a fresh database, its account funded by the same grants."""

    def __init__(self, group_commit: bool, max_held: int) -> None:
        self.clock = FrozenClock(START)
        self.db = connect(os.environ.get("MONGODB_TEST_URI"), f"test_{uuid.uuid4().hex[:12]}")
        self.app = create_app(
            make_settings(group_commit=group_commit, max_held_reservations=max_held),
            db=self.db,
            clock=self.clock,
            sweeper=False,
        )
        self.grant_ids: list[str] = []

    async def post(self, client, path: str, body: dict, key: str) -> httpx.Response:
        return await client.post(path, json=body, headers={**auth(), "Idempotency-Key": key})

    async def fund(self, client, funds, adjustment: int) -> None:
        for n, (amount, expiring) in enumerate(funds):
            body: dict[str, Any] = {"amount": amount, "kind": "bonus", "description": "fund"}
            if expiring:
                body["expires_at"] = (START + timedelta(days=30 - n)).isoformat()
            r = await self.post(client, f"/v1/accounts/{ACCOUNT}/grants", body, f"g{n}")
            assert r.status_code == 201, r.text
            self.grant_ids.append(r.json()["entry"]["grants"][0]["grant_id"])
        if adjustment:
            body = {"amount": -adjustment, "reason": "correction"}
            r = await self.post(client, f"/v1/accounts/{ACCOUNT}/adjustments", body, "adj")
            assert r.status_code == 201, r.text

    def normal(self, body: Any) -> Any:
        """Ids made apart (entries, holds) and each grant by its place."""
        if isinstance(body, dict):
            return {k: self.normal(v) for k, v in body.items()}
        if isinstance(body, list):
            return [self.normal(v) for v in body]
        if isinstance(body, str):
            if body in self.grant_ids:
                return f"grant {self.grant_ids.index(body)}"
            return re.sub(r"^(le|rsv)_[0-9a-f]{24}$", r"\1_id", body)
        return body


def _refusal(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k not in ("type", "title")}


async def _one_by_one(service: Service, client, sent) -> list[tuple[int, Any]]:
    answers = []
    for n, (kind, amount) in enumerate(sent):
        r = await service.post(client, _path(kind), _body(kind, amount), f"k{n}")
        body = r.json()
        answers.append((r.status_code, _refusal(body) if r.status_code >= 400 else body))
    return answers


async def _together(service: Service, client, sent, max_held: int) -> list[tuple[int, Any]]:
    spends = []
    for n, (kind, amount) in enumerate(sent):
        req: Any = (schemas.DebitCreate if kind == "debit" else schemas.ReservationCreate)(
            **_body(kind, amount)
        )
        spends.append(
            Spend(
                kind="debit" if kind == "debit" else "hold",
                account_id=ACCOUNT,
                amount=amount,
                now=service.clock.now(),
                key=f"k{n}",
                fingerprint=fingerprint("debit" if kind == "debit" else "reserve", req.request()),
                actor="admin",
                description=req.description,
                metadata=req.metadata,
                ttl_seconds=getattr(req, "ttl_seconds", 0),
            )
        )
    repos = service.app.state.services.repos
    results = await service.db.transaction(
        partial(apply_spends, repos=repos, spends=spends, max_held=max_held)
    )
    answers: list[tuple[int, Any]] = []
    for result in results:
        if isinstance(result, DomainError):
            answers.append(
                (
                    result.status,
                    {
                        "status": result.status,
                        "detail": result.detail,
                        "code": result.code,
                        **result.extra,
                    },
                )
            )
        else:
            answers.append((result.status, result.body))
    # Each accepted request stored its own answer: a retry with its key replays it.
    for n, ((kind, amount), (status, body)) in enumerate(zip(sent, answers, strict=True)):
        if status == 201:
            r = await service.post(client, _path(kind), _body(kind, amount), f"k{n}")
            assert (r.status_code, r.headers.get("idempotent-replayed")) == (201, "true")
            assert r.json() == body
    return answers


async def _answers(group: bool, funds, adjustment, sent, max_held) -> list[tuple[int, Any]]:
    service = Service(group, max_held)
    async with service.app.router.lifespan_context(service.app):
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await service.fund(client, funds, adjustment)
            if group:
                answers = await _together(service, client, sent, max_held)
            else:
                answers = await _one_by_one(service, client, sent)
        await assert_verified(service.app)
    await service.db.close()
    return [(status, service.normal(body)) for status, body in answers]


@pytest.mark.slow  # generated sequences, each run with and without group commit
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    funds=grants,
    adjustment=st.sampled_from([0, 0, 5, 60]),
    sent=requests,
    max_held=st.integers(1, 4),
)
def test_a_batch_answers_each_request_as_it_would_be_answered_alone_in_order(
    funds, adjustment, sent, max_held
):
    alone = asyncio.run(_answers(False, funds, adjustment, sent, max_held))
    together = asyncio.run(_answers(True, funds, adjustment, sent, max_held))
    assert together == alone
