"""GET /v1/admin/verify and `python -m app ledger verify`: every invariant of the billing rules,
read only; a document broken on purpose is reported by the invariant it breaks."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.ledger import run_verify
from app.storage.database import ACCOUNTS, GRANTS, LEDGER, RESERVATIONS
from tests.factories import capture, debit, grant, make_account, reserve, snapshot
from tests.support.settings import auth

REPO_ROOT = Path(__file__).resolve().parents[1]


async def _story(client) -> None:
    await make_account(client, "user_1", 100)
    await grant(client, "user_2", 40)
    await debit(client, "user_1", 30)
    rid = (await reserve(client, "user_1", 20)).json()["id"]
    await capture(client, rid, 5)
    await reserve(client, "user_1", 7)
    await reserve(client, "user_2", 10)


async def _verify(client, **params) -> dict:
    r = await client.get("/v1/admin/verify", params=params, headers=auth("events"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_verify_answers_ok_for_every_account_and_for_one(client, db):
    await _story(client)
    before = await snapshot(db)

    assert await _verify(client) == {"ok": True, "accounts_checked": 2, "problems": []}
    assert await _verify(client, account_id="user_2") == {
        "ok": True,
        "accounts_checked": 1,
        "problems": [],
    }
    assert await snapshot(db) == before  # read only


async def _invariants_broken(client, db, col, filter_, update) -> set[str]:
    await _story(client)
    await db[col].update_one(filter_, update)
    report = await _verify(client)
    assert report["ok"] is False and report["accounts_checked"] == 2
    assert {p["account_id"] for p in report["problems"]} == {"user_1"}
    return {p["invariant"] for p in report["problems"]}


@pytest.mark.ledger_broken
async def test_a_balance_moved_by_hand_breaks_the_sum_and_the_grants(client, db):
    broken = await _invariants_broken(
        client, db, ACCOUNTS, {"_id": "user_1"}, {"$inc": {"balance": 5}}
    )
    assert broken == {"balance_is_sum_of_entries", "grants_match_balance"}


@pytest.mark.ledger_broken
async def test_an_entry_removed_leaves_a_gap_and_breaks_the_chain(client, db):
    await _story(client)
    await db[LEDGER].delete_one({"account_id": "user_1", "seq": 2})
    report = await _verify(client, account_id="user_1")
    assert {p["invariant"] for p in report["problems"]} == {
        "balance_is_sum_of_entries",
        "seq_gapless",
        "balance_after_chain",
    }
    gap = next(p for p in report["problems"] if p["invariant"] == "seq_gapless")
    assert "missing [2]" in gap["detail"]


@pytest.mark.ledger_broken
async def test_a_hold_released_by_hand_breaks_reserved(client, db):
    broken = await _invariants_broken(
        client,
        db,
        RESERVATIONS,
        {"account_id": "user_1", "status": "held"},
        {"$set": {"status": "released"}},
    )
    assert broken == {"reserved_is_held_reservations", "holds_count"}


@pytest.mark.ledger_broken
async def test_the_accounts_own_lists_are_checked(client, db):
    broken = await _invariants_broken(
        client, db, ACCOUNTS, {"_id": "user_1"}, {"$inc": {"holds": 1}, "$set": {"grant_ids": []}}
    )
    assert broken == {"holds_count", "grant_ids_cover_live_grants"}


@pytest.mark.ledger_broken
async def test_an_overdrawn_grant_is_reported(client, db):
    broken = await _invariants_broken(
        client, db, GRANTS, {"account_id": "user_1"}, {"$inc": {"remaining": -200, "held": 200}}
    )
    assert broken == {"nothing_negative", "reserved_is_grants_held"}


@pytest.mark.ledger_broken
async def test_a_stripe_effect_applied_twice_is_reported(client, db):
    await _story(client)
    await db[LEDGER].update_one(
        {"account_id": "user_1", "seq": 1}, {"$set": {"idempotency_key": "invoice:in_1"}}
    )
    entry = await db[LEDGER].find_one({"account_id": "user_1", "seq": 1})
    await db.db[LEDGER].drop_index("account_idempotency_key")  # what keeps it once, gone
    await db[LEDGER].insert_one(
        {**entry, "_id": "le_copy", "seq": 4, "amount": 0, "balance_after": 65}
    )
    # Numbered as every entry is, by the account's own seq.
    await db[ACCOUNTS].update_one({"_id": "user_1"}, {"$inc": {"seq": 1}})
    report = await _verify(client, account_id="user_1")
    assert "stripe_effect_once" in {p["invariant"] for p in report["problems"]}


@pytest.mark.ledger_broken
async def test_an_account_that_cannot_be_read_is_reported_and_the_rest_checked(client, db):
    await _story(client)
    await db[GRANTS].update_one({"account_id": "user_1"}, {"$set": {"remaining": "ten"}})
    report = await _verify(client)
    assert report["accounts_checked"] == 2
    assert [(p["account_id"], p["invariant"]) for p in report["problems"]] == [
        ("user_1", "account_readable")
    ]


@pytest.mark.ledger_broken
async def test_the_command_exits_1_and_prints_the_problems(client, db):
    await _story(client)
    await db[ACCOUNTS].update_one({"_id": "user_2"}, {"$inc": {"reserved": 1}})
    out = io.StringIO()

    assert await run_verify(db, None, out) == 1
    report = json.loads(out.getvalue())
    assert report["ok"] is False
    assert {(p["account_id"], p["invariant"]) for p in report["problems"]} == {
        ("user_2", "reserved_is_held_reservations"),
        ("user_2", "reserved_is_grants_held"),
    }
    out = io.StringIO()
    assert await run_verify(db, "user_1", out) == 0
    assert json.loads(out.getvalue())["accounts_checked"] == 1


async def test_verify_needs_events_admin_and_a_known_valid_account(client):
    await make_account(client, "user_1", 10)
    assert (await client.get("/v1/admin/verify", headers=auth("reader"))).status_code == 403
    assert (await client.get("/v1/admin/verify")).status_code == 401
    missing = await client.get(
        "/v1/admin/verify", params={"account_id": "nobody"}, headers=auth("events")
    )
    assert missing.status_code == 404
    bad = await client.get("/v1/admin/verify", params={"account_id": "a b"}, headers=auth("events"))
    assert bad.status_code == 422


def _command(env: dict) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB", "APP_"))}
    return subprocess.run(
        [sys.executable, "-m", "app", "ledger", "verify"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )


@pytest.mark.slow
def test_the_command_refuses_to_run_without_mongodb_uri(tmp_path):
    result = _command({"HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "MONGODB_URI is not set" in result.stderr


@pytest.mark.slow
@pytest.mark.real_server
@pytest.mark.ledger_broken
async def test_the_command_against_a_real_server_exits_0_then_1(client, db):
    await _story(client)
    env = {"MONGODB_URI": os.environ["MONGODB_TEST_URI"], "MONGODB_DB": db.db.name}
    assert _command(env).returncode == 0
    await db[ACCOUNTS].update_one({"_id": "user_1"}, {"$inc": {"balance": 1}})
    result = _command(env)
    assert result.returncode == 1
    assert "balance_is_sum_of_entries" in result.stdout
