"""The Python client's usage by meter: debit and hold by meter and quantity, a batch, and the
batchers that flush on size or on time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest
from credit_ledger_client import AsyncCreditLedger, CreditLedger, UsageBatchResult
from starlette.testclient import TestClient

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.storage.database import connect
from tests.factories import make_account
from tests.support.settings import START, auth, make_settings, token


class Gate:
    """A sleep that lasts until the test opens it: the batcher's time runs out on cue."""

    def __init__(self) -> None:
        self.open = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        await self.open.wait()


def async_ledger(app, sleep=None) -> AsyncCreditLedger:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    return AsyncCreditLedger(api_key=token("worker"), http_client=http, sleep=sleep or Gate())


async def test_debit_and_hold_by_meter_are_priced_by_the_service(app, client, db):
    await make_account(client, "user_1", 100)
    ledger = async_ledger(app)

    debited = await ledger.debit("user_1", meter="image.1024px", quantity=2)
    async with ledger.hold("user_1", meter="llm.gpt-x.input_tokens", quantity=1500) as hold:
        captured = await hold.capture()
    access = await ledger.access("user_1", meter="image.1024px", quantity=3)

    assert debited.entry.amount == -6
    assert debited.entry.usage["unit_price"] == {"credits": 3, "per": 1}
    assert hold.reservation.usage["quantity"] == 1500
    assert captured.entry.amount == -2
    assert (access.allowed, access.cost) == (True, 9)
    with pytest.raises(ValueError):
        await ledger.debit("user_1", 3, meter="image.1024px", quantity=1)


async def test_the_batcher_flushes_when_max_records_are_waiting(app, client, db):
    await make_account(client, "user_1", 100)
    sent: list[UsageBatchResult] = []

    async with async_ledger(app).batcher(max_records=3, on_results=sent.append) as usage:
        for _ in range(7):
            await usage.add("user_1", meter="image.1024px", quantity=1, occurred_at=START)
        assert [len(batch.results) for batch in sent] == [3, 3]
        assert usage.pending == 1

    account = await client.get("/v1/accounts/user_1", headers=auth())
    assert account.json()["balance"] == 100 - 21


async def test_the_batcher_flushes_when_the_oldest_record_has_waited(app, client, db):
    await make_account(client, "user_1", 100)
    gate = Gate()
    flushed = asyncio.Event()
    sent: list[UsageBatchResult] = []

    def received(result: UsageBatchResult) -> None:
        sent.append(result)
        flushed.set()

    usage = async_ledger(app).batcher(max_records=100, max_wait=5, on_results=received)
    usage._timer.sleep = gate  # noqa: SLF001 - the batcher's wait, on cue
    await usage.add("user_1", 2)
    await usage.add("user_1", meter="image.1024px", quantity=1, occurred_at=START)
    assert sent == [] and usage.pending == 2
    gate.open.set()
    await asyncio.wait_for(flushed.wait(), timeout=10)

    assert [r.status for r in sent[0].results] == [201, 201]
    assert usage.pending == 0


@contextlib.contextmanager
def worker_of_a_funded_account(credits: int) -> Iterator[CreditLedger]:
    """A worker's sync client of a service of its own, where account `u` was granted `credits`."""
    app = create_app(
        make_settings(),
        db=connect(os.environ.get("MONGODB_TEST_URI"), f"test_{uuid.uuid4().hex[:12]}"),
        clock=FrozenClock(START),
        sweeper=False,
    )
    with TestClient(app, base_url="http://test") as http:
        CreditLedger(api_key=token("admin"), http_client=http).grant("u", credits, description="hi")
        yield CreditLedger(api_key=token("worker"), http_client=http, sleep=lambda s: None)


def test_the_sync_batcher_flushes_on_size_and_on_time():
    with worker_of_a_funded_account(50) as ledger:
        flushed = threading.Event()
        sent: list[UsageBatchResult] = []

        def received(result: UsageBatchResult) -> None:
            sent.append(result)
            flushed.set()

        with ledger.batcher(max_records=2, max_wait=0.05, on_results=received) as usage:
            for _ in range(3):
                usage.add("u", meter="image.1024px", quantity=1, occurred_at=START)
            assert [len(b.results) for b in sent] == [2]
            flushed.clear()
            assert flushed.wait(timeout=10)  # the third, by time
        balance = ledger.account("u").balance

    assert [len(b.results) for b in sent] == [2, 1]
    assert balance == 50 - 9


def test_leaving_the_sync_batcher_sends_what_waits_and_reports_it():
    with worker_of_a_funded_account(50) as ledger:
        sent: list[UsageBatchResult] = []

        with ledger.batcher(max_records=10, max_wait=600, on_results=sent.append) as usage:
            usage.add("u", 2)
            usage.add("u", meter="image.1024px", quantity=1, occurred_at=START)
            assert sent == [] and usage.pending == 2
        balance = ledger.account("u").balance

    assert [[r.status for r in batch.results] for batch in sent] == [[201, 201]]
    assert usage.pending == 0
    assert balance == 50 - 5
