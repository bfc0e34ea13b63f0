"""The ledger's sequence: seq 1, 2, 3... per account without gaps, in commit order, created_at
never going backwards, the balance_after chain; and the balance at a time."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from stripe_fixtures import StripeEvents

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.storage.database import ACCOUNTS, GRANTS, LEDGER, MIGRATIONS
from tests.factories import (
    adjust,
    assert_invariants,
    capture,
    debit,
    grant,
    make_account,
    reserve,
)
from tests.interleavings import FEW_SEEDS, assert_contended, interleaved, reruns
from tests.support.settings import START, auth
from tests.support.verify import assert_verified
from tests.webhooks.helpers import pack_checkout, send_ok


class TickingClock(FrozenClock):
    """Each reading is a millisecond after the last: a request that takes its time first may
    commit after one that took it later, as on a busy server."""

    def now(self):
        self.advance(seconds=0.001)
        return super().now()


async def every_entry(client, account_id: str) -> list[dict]:
    """The whole ledger, newest first, page by page."""
    entries, cursor = [], None
    while True:
        params = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
        r = await client.get(
            f"/v1/accounts/{account_id}/ledger", params=params, headers=auth("reader")
        )
        assert r.status_code == 200, r.text
        entries += r.json()["data"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return entries


@pytest.mark.slow
async def test_concurrent_debits_and_holds_leave_a_gapless_ordered_chained_ledger(db, settings):
    """Under seeded interleavings (tests/interleavings.py), an account of its own each."""
    app = create_app(settings, db=db, clock=TickingClock(START), sweeper=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for seed in FEW_SEEDS:
                account = await make_account(client, f"user_{seed}", 10_000)
                with interleaved(db, seed):
                    await debits_and_holds_at_once(client, account)
                await assert_gapless_ordered_chained(client, db, account)
                await assert_verified(app)
            assert_contended(db, await reruns(client))


async def debits_and_holds_at_once(client, account: str) -> None:
    async def hold_and_capture(n: int) -> None:
        r = await reserve(client, account, 3, key=f"h{n}")
        assert r.status_code == 201, r.text
        r = await capture(client, r.json()["id"], 2, key=f"c{n}")
        assert r.status_code == 200, r.text

    results = await asyncio.gather(
        *(debit(client, account, 1, key=f"d{n}") for n in range(250)),
        *(hold_and_capture(n) for n in range(50)),
    )
    assert all(r.status_code == 201 for r in results[:250])


async def assert_gapless_ordered_chained(client, db, account: str) -> None:
    entries = await every_entry(client, account)

    assert len(entries) == 301
    assert [e["seq"] for e in entries] == list(range(301, 0, -1))
    times = [e["created_at"] for e in entries]
    assert all(a >= b for a, b in zip(times, times[1:], strict=False))
    oldest_first = list(reversed(entries))
    for before, entry in zip(oldest_first, oldest_first[1:], strict=False):
        assert entry["balance_after"] == before["balance_after"] + entry["amount"]
    assert oldest_first[-1]["balance_after"] == 10_000 - 250 - 100
    await assert_invariants(db, account)


async def _balance_at(client, at) -> dict:
    r = await client.get(
        "/v1/accounts/user_1/balance", params={"at": at.isoformat()}, headers=auth("reader")
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_balance_at_five_moments_of_grants_debits_holds_expiry_and_a_clawback(
    client, db, clock
):
    events = StripeEvents("endive", now=int(clock.now().timestamp()))
    before_anything = clock.now()
    clock.advance(minutes=1)
    await grant(client, "user_1", 100, expires_at=clock.now() + timedelta(hours=1))
    await grant(client, "user_1", 50, kind="compensation")
    after_grants = clock.now()
    clock.advance(minutes=1)
    await debit(client, "user_1", 30)
    rid = (await reserve(client, "user_1", 20)).json()["id"]
    await capture(client, rid, 15)
    after_spending = clock.now()
    clock.advance(hours=2)  # 55 of the bonus expire when the account is next touched
    events.now = int(clock.now().timestamp())
    assert (
        await send_ok(client, pack_checkout(events, payment_intent="pi_pack", amount_total=1000))
        == "processed"
    )
    after_expiry_and_pack = clock.now()
    clock.advance(minutes=1)
    events.now = int(clock.now().timestamp())
    assert (
        await send_ok(
            client,
            events.charge_refunded(
                charge_id="ch_pack", payment_intent="pi_pack", amount=1000, amount_refunded=1000
            ),
        )
        == "processed"
    )
    after_clawback = clock.now()

    answers = [
        await _balance_at(client, t)
        for t in (
            before_anything,
            after_grants,
            after_spending,
            after_expiry_and_pack,
            after_clawback,
        )
    ]

    assert [a["balance"] for a in answers] == [0, 150, 105, 550, 50]
    assert [a["as_of_seq"] for a in answers] == [0, 2, 4, 6, 7]
    assert answers[1]["at"] == after_grants.isoformat().replace("+00:00", "Z")
    types = [
        (e["seq"], e["type"])
        for e in reversed(
            (await client.get("/v1/accounts/user_1/ledger", headers=auth("reader"))).json()["data"]
        )
    ]
    assert types == [
        (1, "grant"),
        (2, "grant"),
        (3, "debit"),
        (4, "capture"),
        (5, "expiry"),
        (6, "grant"),
        (7, "clawback"),
    ]
    await assert_invariants(db, "user_1")


async def test_balance_at_defaults_to_now_and_refuses_what_it_cannot_answer(client):
    await make_account(client, "user_1", 40)
    await adjust(client, "user_1", -15)

    r = await client.get("/v1/accounts/user_1/balance", headers=auth("reader"))
    assert (r.status_code, r.json()["balance"], r.json()["as_of_seq"]) == (200, 25, 2)
    missing = await client.get("/v1/accounts/nobody/balance", headers=auth("reader"))
    assert missing.status_code == 404
    bad = await client.get(
        "/v1/accounts/user_1/balance", params={"at": "yesterday"}, headers=auth("reader")
    )
    assert bad.status_code == 422
    assert (await client.get("/v1/accounts/user_1/balance")).status_code == 401


async def test_ledgers_written_before_seq_are_numbered_once_at_start_up(db, settings):
    # As an older version left them: no seq on the account or its entries. (The indexes come
    # first only because the embedded engine, unlike a server, ignores a partial index's
    # filter for the documents already there when it is created.)
    await db.ensure_indexes()
    await db[ACCOUNTS].insert_one(
        {
            "_id": "old_1",
            "balance": 7,
            "reserved": 0,
            "deficit": 0,
            "subscription_status": "none",
            "open_disputes": [],
            "created_at": START,
            "updated_at": START,
        }
    )
    for n, (amount, after) in enumerate([(10, 10), (-5, 5), (2, 7)]):
        await db[LEDGER].insert_one(
            {
                "_id": f"le_00000000000000000000000{n}",
                "account_id": "old_1",
                "type": "adjustment",
                "amount": amount,
                "balance_after": after,
                "grants": [],
                "source": "api",
                "metadata": {},
                "created_at": START + timedelta(minutes=2 - n),
            }
        )
    await db[GRANTS].insert_one(
        {
            "_id": "gr_000000000000000000000000",
            "account_id": "old_1",
            "kind": "correction",
            "amount": 12,
            "remaining": 7,
            "held": 0,
            "deficit_paid": 0,
            "expires_at": None,
            "never_expires": True,
            "expired": False,
            "source": "adjustment",
            "idempotency_key": None,
            "description": None,
            "created_at": START,
        }
    )
    await db[ACCOUNTS].insert_one(
        {
            "_id": "old_2",
            "balance": 0,
            "reserved": 0,
            "deficit": 0,
            "subscription_status": "none",
            "open_disputes": [],
            "created_at": START,
            "updated_at": START,
        }
    )

    seqs, times = [], []
    for start in range(2):  # the second start finds the marker and scans nothing
        app = create_app(settings, db=db, clock=FrozenClock(START), sweeper=False)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                entries = await every_entry(c, "old_1")
                seqs.append([e["seq"] for e in entries])
                times = [e["created_at"] for e in entries]
                if start == 0:
                    assert (await debit(c, "old_1", 1, key="after")).status_code == 201
            await assert_verified(app)

    assert seqs == [[3, 2, 1], [4, 3, 2, 1]]
    assert all(a >= b for a, b in zip(times, times[1:], strict=False))
    assert (await db[ACCOUNTS].find_one({"_id": "old_2"}))["seq"] == 0
    assert await db[MIGRATIONS].count_documents({"_id": "ledger_seq"}) == 1


async def test_an_entry_is_never_older_than_the_one_before_it_whatever_the_writers_clock(
    client, db, clock
):
    await make_account(client, "user_1", 100)
    clock.advance(minutes=-5)  # another process, its clock five minutes behind

    r = await debit(client, "user_1", 10)

    assert r.status_code == 201, r.text
    newest, first = (await client.get("/v1/accounts/user_1/ledger", headers=auth("reader"))).json()[
        "data"
    ]
    assert (newest["seq"], first["seq"]) == (2, 1)
    assert newest["created_at"] == first["created_at"]
    balance = await client.get(
        "/v1/accounts/user_1/balance", params={"at": START.isoformat()}, headers=auth("reader")
    )
    assert (balance.json()["balance"], balance.json()["as_of_seq"]) == (90, 2)
