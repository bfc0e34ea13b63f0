"""Group commit, over HTTP under seeded interleavings: concurrent debits and holds of one account
in one process share units of work (more requests than units), each request keeps its own
refusal, entry, idempotency record and answer, one process never conflicts with itself, and
two instances' batches conflict and re-run whole. Every invariant (the gapless `seq`
included) is verified after each seed."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import httpx

from app.http.app import create_app
from app.ledger.group_commit import BATCHED, BATCHES
from app.storage.database import LEDGER
from tests.factories import assert_invariants, debit, make_account, reserve
from tests.interleavings import SEEDS, assert_contended, interleaved, reruns
from tests.support.settings import auth
from tests.support.verify import assert_verified


async def batching(client) -> tuple[int, int]:
    """(units of work, requests in them) of group commit so far, as GET /metrics counts."""
    text = (await client.get("/metrics", headers=auth("admin"))).text
    counts = {BATCHES: 0, BATCHED: 0}
    for line in text.splitlines():
        name = line.split("{", 1)[0]
        if name in counts:
            counts[name] += int(line.split()[-1])
    return counts[BATCHES], counts[BATCHED]


async def assert_gapless(db, account: str) -> None:
    entries = await db[LEDGER].find({"account_id": account}).to_list(None)
    assert sorted(e["seq"] for e in entries) == list(range(1, len(entries) + 1))


async def test_concurrent_debits_share_units_and_spend_exactly_what_is_there(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 45)
        with interleaved(db, seed):
            answers = await asyncio.gather(*(debit(client, account, 3) for _ in range(20)))

        assert Counter(r.status_code for r in answers) == {201: 15, 402: 5}, seed
        ok = [r.json() for r in answers if r.status_code == 201]
        # Each its own entry, numbered without gaps, and an answer with the balance it left.
        assert sorted(a["entry"]["seq"] for a in ok) == list(range(2, 17))
        assert {a["entry"]["balance_after"] for a in ok} == set(range(0, 45, 3))
        assert all(a["account"]["balance"] == a["entry"]["balance_after"] for a in ok)
        acc = await assert_invariants(db, account)
        assert acc["balance"] == 0
        await assert_gapless(db, account)
        await assert_verified(app)
    units, requests = await batching(client)
    assert requests > units  # batches formed: fewer units of work than requests
    assert await reruns(client) == 0  # one process never conflicts with itself


async def test_a_refusal_in_a_batch_refuses_only_its_request(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 20)
        with interleaved(db, seed):
            answers = await asyncio.gather(
                *(debit(client, account, 2) for _ in range(4)),
                debit(client, account, 50),  # more than there ever is
                *(reserve(client, account, 3) for _ in range(4)),
            )

        assert answers[4].status_code == 402, seed
        assert answers[4].json()["code"] == "insufficient_credits"
        assert answers[4].json()["requested"] == 50
        assert {r.status_code for i, r in enumerate(answers) if i != 4} == {201}, seed
        acc = await assert_invariants(db, account)
        assert (acc["balance"], acc["reserved"], acc["holds"]) == (12, 12, 4)
        await assert_verified(app)
    units, requests = await batching(client)
    assert requests > units


async def test_debits_and_holds_in_one_unit_never_overspend(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 30)
        with interleaved(db, seed):
            answers = await asyncio.gather(
                *(debit(client, account, 3) for _ in range(6)),
                *(reserve(client, account, 5) for _ in range(6)),
            )

        spent = sum(3 for r in answers[:6] if r.status_code == 201)
        held = sum(5 for r in answers[6:] if r.status_code == 201)
        assert {r.status_code for r in answers} <= {201, 402}
        acc = await assert_invariants(db, account)
        assert (acc["balance"], acc["reserved"]) == (30 - spent, held)
        # Refused only when what was left could not cover the request.
        assert acc["balance"] - acc["reserved"] < 5
        await assert_gapless(db, account)
        await assert_verified(app)


async def test_same_key_twice_in_a_batch_replays_the_first(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 100)
        with interleaved(db, seed):
            answers = await asyncio.gather(
                *(debit(client, account, 7, key="same") for _ in range(4)),
                *(debit(client, account, 1) for _ in range(4)),
                *(reserve(client, account, 2, key="held") for _ in range(3)),
            )

        for same in (answers[:4], answers[8:]):
            assert {r.status_code for r in same} == {201}, seed
            assert len({r.text for r in same}) == 1, seed  # the first's answer, byte for byte
            assert sum(r.headers.get("idempotent-replayed") != "true" for r in same) == 1
        acc = await assert_invariants(db, account)
        assert (acc["balance"], acc["reserved"]) == (100 - 7 - 4, 2)
        await assert_verified(app)


@contextlib.asynccontextmanager
async def second_instance(settings, db, clock):
    """Another process of the service over the same database (its own group commit)."""
    twin = create_app(settings, db=db, clock=clock, sweeper=False)
    async with twin.router.lifespan_context(twin):
        transport = httpx.ASGITransport(app=twin)
        async with httpx.AsyncClient(transport=transport, base_url="http://twin") as c:
            yield c


async def test_batches_form_free_running_too(app, client, db):
    """Without seeded turns (the dev server's engine, as a driver on a replica set) every call
    is a turn of the event loop: requests that arrive while a unit runs join the next one."""
    account = await make_account(client, "user_free", 100)
    before = await batching(client)

    answers = await asyncio.gather(*(debit(client, account, 1) for _ in range(20)))

    assert {r.status_code for r in answers} == {201}
    units, requests = (now - then for now, then in zip(await batching(client), before, strict=True))
    assert requests == 20 and units < 20  # not one whole unit after another
    await assert_gapless(db, account)


async def test_two_instances_batches_conflict_and_rerun_whole(app, client, db, settings, clock):
    async with second_instance(settings, db, clock) as twin:
        for seed in SEEDS:
            account = await make_account(client, f"user_{seed}", 41)
            with interleaved(db, seed):
                answers = await asyncio.gather(
                    *(debit(c, account, 2) for _ in range(12) for c in (client, twin)),
                    debit(client, account, 1, key="both"),
                    debit(twin, account, 1, key="both"),
                )

            assert Counter(r.status_code for r in answers[:24]) == {201: 20, 402: 4}, seed
            both = answers[24:]
            assert {r.status_code for r in both} == {201}, seed
            assert both[0].json()["entry"] == both[1].json()["entry"]
            acc = await assert_invariants(db, account)
            assert acc["balance"] == 0
            await assert_gapless(db, account)
            await assert_verified(app)
        assert_contended(db, await reruns(client) + await reruns(twin))


async def test_same_key_after_a_refused_first_is_refused_too_never_an_error(app, client, db):
    for seed in SEEDS:
        account = await make_account(client, f"user_{seed}", 5)
        with interleaved(db, seed):
            answers = await asyncio.gather(
                *(debit(client, account, 7, key="too-much") for _ in range(4)),
                *(debit(client, account, 1) for _ in range(2)),
            )

        # The first is refused and stores nothing: each retry runs again, refused alike.
        assert {r.status_code for r in answers[:4]} == {402}, seed
        assert {r.json()["code"] for r in answers[:4]} == {"insufficient_credits"}
        assert {r.status_code for r in answers[4:]} == {201}, seed
        acc = await assert_invariants(db, account)
        assert acc["balance"] == 3
        await assert_verified(app)
