"""POST /v1/usage: up to 1,000 records, each a debit of its own account under its own key,
answered one by one in one response; in units of work of up to UNIT_ACCOUNTS accounts."""

from __future__ import annotations

import asyncio

import pytest

from app.storage.database import ACCOUNTS, LEDGER
from tests.factories import assert_invariants, debit, make_account, snapshot
from tests.faults import ConflictOnce
from tests.ledger.metered import write_rate_card
from tests.support.settings import auth, make_settings


@pytest.fixture
def settings(tmp_path):
    return make_settings(plans_file=write_rate_card(tmp_path))


async def send(client, records, who: str = "worker"):
    return await client.post("/v1/usage", json={"records": records}, headers=auth(who))


def record(account_id: str, key: str, **spend):
    return {"account_id": account_id, "idempotency_key": key, **(spend or {"amount": 1})}


async def test_a_batch_across_accounts_answers_each_record_and_the_ledger_verifies(client, db):
    # 100 accounts; acct_0..acct_4 hold 12 credits, the rest 1,000. 1,000 records: 10 each.
    for n in range(100):
        await make_account(client, f"acct_{n}", 12 if n < 5 else 1000)
    earlier = [record(f"acct_{n}", f"early-{n}", meter="image.hd", quantity=1) for n in range(20)]
    first = await send(client, earlier)
    assert first.status_code == 200 and first.json()["counts"] == {"201": 20}
    records = []
    for n in range(100):
        for i in range(10):
            if n < 20 and i == 0:
                records.append(earlier[n])  # 20 replays
            elif n < 5 and i in (1, 2):
                records.append(record(f"acct_{n}", f"big-{n}-{i}", amount=100))  # 10 refusals
            else:
                records.append(record(f"acct_{n}", f"r-{n}-{i}", meter="tokens", quantity=700))
    db.calls.reset()

    r = await send(client, records)

    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["index"] for x in results] == list(range(1000))
    assert r.json()["counts"] == {"201": 990, "402": 10}
    replays = [x for x in results if x["replayed"]]
    assert len(replays) == 20
    assert all(
        x["entry"] == f["entry"] for x, f in zip(replays, first.json()["results"], strict=True)
    )
    refused = [x for x in results if x["status"] == 402]
    assert {x["idempotency_key"] for x in refused} == {
        f"big-{n}-{i}" for n in range(5) for i in (1, 2)
    }
    assert all(x["problem"]["code"] == "insufficient_credits" for x in refused)
    assert db.calls.commits == 4  # 100 accounts in units of 25 (UNIT_ACCOUNTS: 32 at most)
    # acct_7: 9 records of 700 tokens at 1 credit per 1,000, rounded up once on the total
    # (6,300 tokens: 7 credits), after its earlier image (3 credits) and nothing replayed twice.
    account = await db[ACCOUNTS].find_one({"_id": "acct_7"})
    assert account["balance"] == 1000 - 3 - 7
    # acct_2 (12 credits): its image earlier (3), its two refusals, then 7 x 700 tokens (5).
    assert (await db[ACCOUNTS].find_one({"_id": "acct_2"}))["balance"] == 12 - 3 - 5
    for n in (0, 2, 7, 50):
        await assert_invariants(db, f"acct_{n}")


async def test_a_refused_record_does_not_hold_back_the_next_ones_of_its_account(client, db):
    await make_account(client, "user_1", 10)

    r = await send(
        client,
        [
            record("user_1", "a", amount=4),
            record("user_1", "b", amount=8),  # 6 left: refused
            record("user_1", "c", amount=6),
        ],
    )

    assert [x["status"] for x in r.json()["results"]] == [201, 402, 201]
    assert [x["entry"]["seq"] for x in r.json()["results"] if x["entry"]] == [2, 3]
    assert r.json()["results"][2]["account"]["balance"] == 0
    assert r.json()["results"][1]["problem"]["available"] == 6


async def test_a_malformed_record_is_a_422_of_its_own_and_writes_nothing(client, db):
    await make_account(client, "user_1", 10)

    r = await send(
        client,
        [
            record("user_1", "ok-1", amount=1),
            {"account_id": "user_1", "idempotency_key": "bad-1", "amount": 1, "meter": "tokens"},
            {"account_id": "user_1", "amount": 1},
            record("user_1", "bad-3", meter="nope", quantity=1),
            record("user_1", "invoice:x", amount=1),
            record("bad id!", "bad-5", amount=1),
        ],
    )

    statuses = [(x["status"], x["idempotency_key"]) for x in r.json()["results"]]
    assert statuses == [
        (201, "ok-1"),
        (422, "bad-1"),
        (422, None),
        (422, "bad-3"),
        (422, "invoice:x"),
        (422, "bad-5"),
    ]
    problems = [x["problem"] for x in r.json()["results"][1:]]
    assert all(p["code"] == "validation_error" for p in problems)
    assert problems[1]["errors"][0]["loc"] == ["body", "records", 2, "idempotency_key"]
    assert "meter" in problems[2]["detail"]
    assert await db[LEDGER].count_documents({"account_id": "user_1", "type": "debit"}) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"records": {"account_id": "user_1"}},
        {"records": []},
        {"records": [record("user_1", f"k-{n}") for n in range(1001)]},
        {"records": [record("user_1", "k"), 3]},
        {"records": [record("user_1", "k")], "extra": 1},
        [record("user_1", "k")],
    ],
)
async def test_a_malformed_batch_is_a_422_and_writes_nothing(client, db, body):
    await make_account(client, "user_1", 10)
    before = await snapshot(db)

    r = await client.post("/v1/usage", json=body, headers=auth("worker"))

    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert await snapshot(db) == before


async def test_a_record_of_text_json_cannot_carry_is_a_422_not_a_500(client, db):
    # A lone surrogate (\ud800) is valid JSON but not UTF-8: the record is refused, and its
    # answer leaves out what it cannot show.
    await make_account(client, "user_1", 10)
    before = await snapshot(db)
    body = (
        b'{"records": [{"account_id": "user_\\ud800", "idempotency_key": "k-\\udc00", '
        b'"amount": 1}, {"account_id": "user_1", "idempotency_key": "k-\\ud800", "amount": 1}]}'
    )

    r = await client.post(
        "/v1/usage", content=body, headers={**auth("worker"), "Content-Type": "application/json"}
    )

    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [(x["status"], x["account_id"], x["idempotency_key"]) for x in results] == [
        (422, None, None),
        (422, "user_1", None),
    ]
    assert all(x["problem"]["code"] == "validation_error" for x in results)
    assert await snapshot(db) == before


async def test_the_same_key_twice_in_a_batch_debits_once(client, db):
    await make_account(client, "user_1", 10)

    r = await send(
        client,
        [
            record("user_1", "k", amount=3),
            record("user_1", "k", amount=3),
            record("user_1", "k", amount=4),
        ],
    )

    results = r.json()["results"]
    assert [(x["status"], x["replayed"]) for x in results] == [
        (201, False),
        (201, True),
        (409, False),
    ]
    assert results[1]["entry"] == results[0]["entry"]
    assert (await db[ACCOUNTS].find_one({"_id": "user_1"}))["balance"] == 7


async def test_a_record_and_a_single_debit_with_the_same_key_are_one_debit(client, db):
    await make_account(client, "user_1", 10)
    batch = await send(client, [record("user_1", "gen-1", meter="image.hd", quantity=1)])

    single = await client.post(
        "/v1/accounts/user_1/debits",
        json={"meter": "image.hd", "quantity": 1},
        headers={**auth("worker"), "Idempotency-Key": "gen-1"},
    )
    in_a_batch_again = await send(client, [record("user_1", "gen-1", meter="image.hd", quantity=1)])

    assert single.headers["Idempotent-Replayed"] == "true"
    first = batch.json()["results"][0]
    # The record's stored answer (its JSON text) is the debit's whole first answer.
    assert single.json() == {"entry": first["entry"], "account": first["account"]}
    assert in_a_batch_again.json()["results"][0]["replayed"] is True
    assert (await db[ACCOUNTS].find_one({"_id": "user_1"}))["balance"] == 7


async def test_an_unknown_account_and_a_suspended_one_are_refused_alone(client, db):
    await make_account(client, "user_1", 10)
    await make_account(client, "user_2", 10)
    await db[ACCOUNTS].update_one({"_id": "user_2"}, {"$set": {"subscription_status": "unpaid"}})

    r = await send(
        client,
        [record("nobody", "a"), record("user_2", "b"), record("user_1", "c")],
    )

    results = r.json()["results"]
    assert [x["status"] for x in results] == [404, 403, 201]
    assert results[0]["problem"]["code"] == "account_not_found"
    assert results[1]["problem"]["code"] == "access_suspended"


async def test_a_batch_needs_the_debit_scope(client, db):
    await make_account(client, "user_1", 10)

    r = await send(client, [record("user_1", "a")], who="reader")

    assert r.status_code == 403
    await debit(client, "user_1", 1)


@pytest.mark.embedded_only  # the conflict is injected into the embedded engine
async def test_a_unit_that_meets_a_write_conflict_is_split_rather_than_run_again(client, db):
    """A concurrent commit to one of a unit's accounts (here injected at the accounts' write)
    would re-run all of its accounts: the unit is split in two, each half its own unit."""
    for n in range(4):
        await make_account(client, f"acct_{n}", 10)
    faults = ConflictOnce("bulk_write", ACCOUNTS)
    db.engine.faults = faults
    db.calls.reset()

    r = await send(client, [record(f"acct_{n}", f"k-{n}-{i}") for i in range(3) for n in range(4)])

    db.engine.faults = None
    assert faults.conflicts == 1
    assert r.json()["counts"] == {"201": 12}
    assert db.calls.commits == 2  # two units of two accounts; the first of four never committed
    for n in range(4):
        assert (await db[ACCOUNTS].find_one({"_id": f"acct_{n}"}))["balance"] == 7
        await assert_invariants(db, f"acct_{n}")


async def test_a_batch_beside_single_debits_of_its_accounts_keeps_every_ledger_whole(client, db):
    for n in range(3):
        await make_account(client, f"acct_{n}", 100)
    batch = [record(f"acct_{n}", f"b-{n}-{i}", amount=2) for i in range(10) for n in range(3)]

    answers = await asyncio.gather(
        send(client, batch),
        *[debit(client, f"acct_{n % 3}", 1, key=f"s-{n}") for n in range(12)],
    )

    assert answers[0].json()["counts"] == {"201": 30}
    assert all(a.status_code == 201 for a in answers[1:])
    for n in range(3):
        assert (await db[ACCOUNTS].find_one({"_id": f"acct_{n}"}))["balance"] == 100 - 20 - 4
        await assert_invariants(db, f"acct_{n}")
