"""An account's name, email and metadata: set by PATCH /v1/accounts/{id} (credits:grant),
shown on the account, and found by the account search of the API and the console."""

from __future__ import annotations

from datetime import timedelta

from app.storage.database import ACCOUNTS
from tests.console.helpers import sign_in
from tests.factories import account, assert_invariants, assert_problem, make_account, snapshot
from tests.support.settings import auth


async def patch(client, account_id: str, body: dict, *, who="admin", key=None):
    headers = {**auth(who), **({"Idempotency-Key": key} if key else {})}
    return await client.patch(f"/v1/accounts/{account_id}", json=body, headers=headers)


async def search(client, q: str) -> list[str]:
    r = await client.get("/v1/accounts", params={"q": q}, headers=auth("reader"))
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["data"]]


async def test_patch_sets_name_email_and_metadata(client, db):
    await make_account(client, "org_7", 10)

    r = await patch(
        client,
        "org_7",
        {"name": " Acme Studio ", "email": "Billing@Acme.example", "metadata": {"tier": "gold"}},
    )

    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["email"], body["metadata"]) == (
        "Acme Studio",
        "billing@acme.example",
        {"tier": "gold"},
    )
    assert body["balance"] == 10
    shown = await account(client, "org_7")
    assert (shown["name"], shown["email"], shown["metadata"]) == (
        "Acme Studio",
        "billing@acme.example",
        {"tier": "gold"},
    )
    await assert_invariants(db, "org_7")


async def test_left_out_fields_stay_null_clears_and_metadata_is_replaced_whole(client, db):
    await make_account(client, "org_7", 10)
    await patch(client, "org_7", {"name": "Acme", "email": "a@acme.example", "metadata": {"a": 1}})

    r = await patch(client, "org_7", {"email": None, "metadata": {"b": True}})

    assert (r.json()["name"], r.json()["email"], r.json()["metadata"]) == (
        "Acme",
        None,
        {"b": True},
    )
    assert await search(client, "a:1") == []
    assert await search(client, "b:true") == ["org_7"]


async def test_search_finds_an_account_by_name_word_email_and_metadata(client, db):
    await make_account(client, "org_7", 10)
    await make_account(client, "org_8", 10)
    await patch(
        client,
        "org_7",
        {"name": "Acme Studio", "email": "billing@acme.example", "metadata": {"tier": "Gold"}},
    )
    await patch(client, "org_8", {"name": "Zenith", "metadata": {"tier": "silver"}})

    assert await search(client, "acme") == ["org_7"]
    assert await search(client, "STUDIO") == ["org_7"]
    assert await search(client, "Billing@Acme.example") == ["org_7"]
    assert await search(client, "tier:gold") == ["org_7"]
    assert await search(client, "tier:") == ["org_7", "org_8"]
    assert await search(client, "a.*") == []  # taken literally, not as a pattern
    assert await search(client, "org_") == ["org_7", "org_8"]  # ids still match


async def test_the_console_search_finds_an_account_by_its_name(client, db):
    await make_account(client, "org_7", 10)
    await make_account(client, "org_8", 10)
    await patch(client, "org_7", {"name": "Acme Studio", "email": "billing@acme.example"})
    await sign_in(client)

    page = await client.get("/console/accounts", params={"q": "acme"})

    assert "org_7" in page.text and "org_8" not in page.text
    assert "Acme Studio" in page.text and "billing@acme.example" in page.text
    account_page = await client.get("/console/accounts/org_7")
    assert "Acme Studio" in account_page.text


async def test_bad_input_is_422_and_writes_nothing(client, db):
    await make_account(client, "org_7", 10)
    before = await snapshot(db)

    for body in (
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"email": "not-an-email"},
        {"email": "a@b"},
        {"email": 5},
        {"metadata": {"bad key!": 1}},
        {"metadata": {f"k{i}": i for i in range(51)}},
        {"metadata": {"k": 2**64}},
        {"balance": 1000},
    ):
        assert_problem(await patch(client, "org_7", body), 422, "validation_error")

    assert await snapshot(db) == before


async def test_an_unknown_account_is_404_and_not_created(client, db):
    assert_problem(await patch(client, "nobody", {"name": "x"}), 404, "account_not_found")
    assert await db[ACCOUNTS].find_one({"_id": "nobody"}) is None


async def test_setting_the_profile_needs_credits_grant(client, db):
    await make_account(client, "org_7", 10)
    before = await snapshot(db)

    for who in ("reader", "worker", "events"):
        assert_problem(await patch(client, "org_7", {"name": "x"}, who=who), 403, "forbidden")

    assert await snapshot(db) == before


async def test_an_idempotency_key_when_sent_replays_the_first_answer(client, db):
    await make_account(client, "org_7", 10)
    first = await patch(client, "org_7", {"name": "Acme"}, key="name-1")
    await patch(client, "org_7", {"name": "Later"})

    again = await patch(client, "org_7", {"name": "Acme"}, key="name-1")

    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == first.json()
    assert (await account(client, "org_7"))["name"] == "Later"
    other = await patch(client, "org_7", {"name": "Other"}, key="name-1")
    assert_problem(other, 409, "idempotency_key_reused")


async def test_the_answer_leaves_out_credits_that_have_expired(client, db, clock):
    await make_account(client, "org_7", 10, expires_at=clock.now() + timedelta(hours=1))
    clock.advance(hours=2)

    r = await patch(client, "org_7", {"name": "Acme"})

    assert (r.json()["balance"], r.json()["available"]) == (0, 0)
    await assert_invariants(db, "org_7")


async def test_the_document_says_the_key_is_optional_here_and_required_on_grant_changes(client):
    doc = (await client.get("/openapi.json")).json()

    patch_account = doc["paths"]["/v1/accounts/{account_id}"]["patch"]
    assert "idempotency_key_missing" not in str(patch_account["responses"].get("400", ""))
    void = doc["paths"]["/v1/grants/{grant_id}/void"]["post"]
    assert "idempotency_key_missing" in str(void["responses"]["400"])
