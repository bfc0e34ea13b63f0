"""The Python client (clients/python) against the app in-process: one debit however often the
answer is lost, typed results and exceptions, and holds that capture or release."""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from pathlib import Path

import httpx
import pytest
from credit_ledger_client import (
    AsyncCreditLedger,
    ConnectionFailed,
    CreditLedger,
    CreditLedgerError,
    EntryResult,
    InsufficientCredits,
    ReservationNotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from starlette.testclient import TestClient

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.storage.database import LEDGER, RESERVATIONS, connect
from tests.factories import assert_invariants, debit, make_account
from tests.support.settings import START, make_settings, token

CLIENT = Path(__file__).resolve().parents[1] / "clients" / "python"


def _load_make_sync():
    spec = importlib.util.spec_from_file_location("make_sync", CLIENT / "make_sync.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_sync = _load_make_sync()


class LoseAnswers:
    """ASGI wrapper: the first `times` requests to a path ending in `suffix` run in the app,
    which commits them, but the caller gets a 500 instead of the answer."""

    def __init__(self, app, suffix: str, times: int = 1) -> None:
        self.app, self.suffix, self.left = app, suffix, times
        self.keys: list[str] = []  # the Idempotency-Key of every matching request

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith(self.suffix):
            return await self.app(scope, receive, send)
        self.keys.append(dict(scope["headers"]).get(b"idempotency-key", b"").decode())
        if self.left == 0:
            return await self.app(scope, receive, send)
        self.left -= 1

        async def lose(message):
            pass

        await self.app(scope, receive, lose)
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Internal error",
                "status": 500,
                "detail": "injected",
                "code": "internal_error",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [(b"content-type", b"application/problem+json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RefuseFirstConnection(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.refused = inner, False

    async def handle_async_request(self, request):
        if not self.refused:
            self.refused = True
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


class Sleeps(list):
    """Records the backoff instead of sleeping."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def ledger_client(asgi_app, sleeps: Sleeps | None = None, transport=None) -> AsyncCreditLedger:
    http = httpx.AsyncClient(
        transport=transport or httpx.ASGITransport(app=asgi_app), base_url="http://test"
    )
    return AsyncCreditLedger(
        api_key=token("worker"), http_client=http, sleep=sleeps if sleeps is not None else Sleeps()
    )


async def test_a_worker_debits_once_when_the_server_answers_500_once(app, client, db):
    await make_account(client, "user_1", 100)
    flaky = LoseAnswers(app, "/debits")
    sleeps = Sleeps()
    ledger = ledger_client(flaky, sleeps)

    result = await ledger.debit(
        "user_1", 3, description="image 1024px", metadata={"feature": "image"}
    )

    assert isinstance(result, EntryResult) and result.replayed
    assert (result.entry.type, result.entry.amount, result.account.balance) == ("debit", -3, 97)
    assert len(flaky.keys) == 2 and flaky.keys[0] == flaky.keys[1] != ""
    assert len(sleeps) == 1
    debits = await db[LEDGER].count_documents({"account_id": "user_1", "type": "debit"})
    assert debits == 1
    acc = await assert_invariants(db, "user_1")
    assert acc["balance"] == 97


async def test_each_logical_call_has_its_own_idempotency_key(app, client, db):
    await make_account(client, "user_1", 100)
    watched = LoseAnswers(app, "/debits", times=0)
    ledger = ledger_client(watched)

    await ledger.debit("user_1", 3)
    await ledger.debit("user_1", 3)

    assert len(set(watched.keys)) == 2
    assert (await ledger.account("user_1")).balance == 94


async def test_a_refused_connection_is_retried_with_backoff(app, client, db):
    await make_account(client, "user_1", 100)
    sleeps = Sleeps()
    ledger = ledger_client(app, sleeps, RefuseFirstConnection(httpx.ASGITransport(app=app)))

    result = await ledger.debit("user_1", 5)

    assert result.account.balance == 95 and not result.replayed
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.25


async def test_retries_stop_after_max_retries_with_growing_backoff(app, client, db):
    await make_account(client, "user_1", 100)
    sleeps = Sleeps()
    ledger = ledger_client(LoseAnswers(app, "/debits", times=10), sleeps)

    with pytest.raises(Exception) as raised:
        await ledger.debit("user_1", 5)

    assert type(raised.value).__name__ == "ServiceUnavailable" and raised.value.status == 500
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2]
    # Four attempts with one key: the first spent, the others were answered from it.
    assert await db[LEDGER].count_documents({"account_id": "user_1", "type": "debit"}) == 1


async def test_problem_json_is_raised_as_a_typed_exception_and_not_retried(app, client, db):
    await make_account(client, "user_1", 2)
    sleeps = Sleeps()
    ledger = ledger_client(app, sleeps)

    with pytest.raises(InsufficientCredits) as raised:
        await ledger.debit("user_1", 3)
    with pytest.raises(ValidationFailed) as invalid:
        await ledger.debit("user_1", 0)
    with pytest.raises(ReservationNotFound):
        await ledger.capture("rsv_000000000000000000000000", 1)

    assert (raised.value.status, raised.value.code) == (402, "insufficient_credits")
    assert raised.value.detail
    assert (raised.value.requested, raised.value.available) == (3, 2)
    assert (raised.value.balance, raised.value.reserved) == (2, 0)
    assert invalid.value.errors[0]["loc"] == ["body", "amount"]
    assert sleeps == []
    await assert_invariants(db, "user_1")


async def test_hold_then_capture_spends_what_it_cost_and_frees_the_rest(app, client, db):
    await make_account(client, "user_1", 100)
    ledger = ledger_client(app)

    async with ledger.hold("user_1", 20, description="video 8s") as hold:
        assert (await ledger.account("user_1")).reserved == 20
        result = await hold.capture(12)

    assert (result.reservation.status, result.reservation.captured) == ("captured", 12)
    assert (result.account.balance, result.account.reserved) == (88, 0)
    acc = await assert_invariants(db, "user_1")
    assert (acc["balance"], acc["reserved"]) == (88, 0)


async def test_hold_that_raises_is_released(app, client, db):
    await make_account(client, "user_1", 100)
    ledger = ledger_client(app)

    with pytest.raises(RuntimeError, match="render failed"):
        async with ledger.hold("user_1", 20) as hold:
            raise RuntimeError("render failed")

    stored = await db[RESERVATIONS].find_one({"_id": hold.id})
    assert (stored["status"], stored["captured"]) == ("released", 0)
    acc = await assert_invariants(db, "user_1")
    assert (acc["balance"], acc["reserved"]) == (100, 0)
    assert await db[LEDGER].count_documents({"account_id": "user_1", "type": "capture"}) == 0


async def test_hold_that_ends_without_capturing_is_released_unless_capture_is_asked(
    app, client, db
):
    await make_account(client, "user_1", 100)
    ledger = ledger_client(app)

    async with ledger.hold("user_1", 20) as forgotten:
        pass
    async with ledger.hold("user_1", 30, on_exit="capture") as kept:
        pass

    # Forgetting to capture costs the customer nothing; capturing in full is asked for.
    assert (forgotten.reservation.status, forgotten.reservation.captured) == ("released", 0)
    assert (kept.reservation.status, kept.reservation.captured) == ("captured", 30)
    acc = await assert_invariants(db, "user_1")
    assert (acc["balance"], acc["reserved"]) == (70, 0)


async def render_video(ledger: AsyncCreditLedger, job_id: str) -> None:
    """A queue worker's job: hold for the job, spend what the render cost."""
    async with ledger.hold("user_1", 20, idempotency_key=job_id) as hold:
        await hold.capture(12)


async def test_a_redelivered_job_holds_and_captures_once(app, client, db):
    await make_account(client, "user_1", 100)
    ledger = ledger_client(app)

    await render_video(ledger, "job-7f3a")
    # The queue lost the worker's acknowledgement and delivers the job again.
    await render_video(ledger, "job-7f3a")

    assert await db[RESERVATIONS].count_documents({"account_id": "user_1"}) == 1
    assert await db[LEDGER].count_documents({"account_id": "user_1", "type": "capture"}) == 1
    acc = await assert_invariants(db, "user_1")
    assert (acc["balance"], acc["reserved"]) == (88, 0)
    await render_video(ledger, "job-8b21")  # another job is another hold
    assert (await ledger.account("user_1")).balance == 76


async def test_a_redelivered_job_whose_capture_answer_was_lost_captures_once(app, client, db):
    await make_account(client, "user_1", 100)
    lost = LoseAnswers(app, "/capture", times=4)  # more than the client retries
    with pytest.raises(ServiceUnavailable):
        await render_video(ledger_client(lost), "job-7f3a")

    await render_video(ledger_client(app), "job-7f3a")

    assert len(set(lost.keys)) == 1 and lost.keys[0] == "job-7f3a:capture"
    assert await db[LEDGER].count_documents({"account_id": "user_1", "type": "capture"}) == 1
    acc = await assert_invariants(db, "user_1")
    assert (acc["balance"], acc["reserved"]) == (88, 0)


async def test_a_wrong_base_url_is_a_connection_failure_not_an_outage_answer():
    sleeps = Sleeps()
    ledger = AsyncCreditLedger("http://127.0.0.1:9", "ck_test", sleep=sleeps)

    with pytest.raises(ConnectionFailed) as raised:
        await ledger.debit("user_1", 1)
    await ledger.aclose()

    assert not isinstance(raised.value, CreditLedgerError)
    assert raised.value.attempts == 4 and len(sleeps) == 3
    assert "http://127.0.0.1:9/v1/accounts/user_1/debits" in str(raised.value)
    assert "ck_test" not in str(raised.value)


def test_without_a_base_url_the_client_says_which_setting_to_set(monkeypatch):
    monkeypatch.delenv("CREDIT_LEDGER_URL", raising=False)

    with pytest.raises(ValueError, match="CREDIT_LEDGER_URL"):
        CreditLedger()


async def test_iter_ledger_and_iter_grants_walk_every_page(app, client, db):
    for n in range(3):
        await make_account(client, "user_1", 100 + n)
    for n in range(10):
        await debit(client, "user_1", 1 + n)
    ledger = ledger_client(app)

    entries = [e async for e in ledger.iter_ledger("user_1", page_size=4)]
    debits = [e async for e in ledger.iter_ledger("user_1", type="debit", page_size=3)]
    grants = [g async for g in ledger.iter_grants("user_1", page_size=2)]

    assert [e.seq for e in entries] == list(range(13, 0, -1))
    assert [e.amount for e in debits] == [-n for n in range(10, 0, -1)]
    assert sorted(g.amount for g in grants) == [100, 101, 102]
    assert len(await ledger.grants("user_1")) == 3


@pytest.mark.parametrize("name", ["_async.py", "_async_batching.py"])
def test_the_sync_client_is_the_async_one_without_async(name):
    package = CLIENT / "credit_ledger_client"
    target, _ = make_sync.MADE[name]

    made = make_sync.sync_module((package / name).read_text(), name)

    assert (package / target).read_text() == made, "run make client-sync"


def test_the_sync_client_debits_and_holds_the_same_way():
    uri = os.environ.get("MONGODB_TEST_URI")
    app = create_app(
        make_settings(),
        db=connect(uri, f"test_{uuid.uuid4().hex[:12]}"),
        clock=FrozenClock(START),
        sweeper=False,
    )
    with TestClient(app, base_url="http://test") as http:
        admin = CreditLedger(api_key=token("admin"), http_client=http)
        ledger = CreditLedger(api_key=token("worker"), http_client=http, sleep=lambda s: None)
        admin.grant("user_9", 50, description="welcome")

        debit = ledger.debit("user_9", 5)
        with pytest.raises(KeyError), ledger.hold("user_9", 10):
            raise KeyError("job lost")
        with ledger.hold("user_9", 10) as hold:
            captured = hold.capture(4)
        with pytest.raises(InsufficientCredits):
            ledger.debit("user_9", 1000)
        page = ledger.ledger("user_9", limit=10)

    assert debit.account.balance == 45
    assert captured.account.balance == 41
    assert [e.type for e in page.data] == ["capture", "debit", "grant"]
    assert page.data[0].amount == -4
    assert [e.seq for e in page.data] == [3, 2, 1]
