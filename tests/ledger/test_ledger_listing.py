"""The ledger listing: newest first, cursor paging, filters by type and by date."""

from datetime import timedelta, timezone

import pytest

from tests.factories import (
    assert_invariants,
    assert_problem,
    debit,
    grant,
    ledger_page,
    make_account,
    reserve,
)
from tests.support.settings import auth


@pytest.mark.slow
async def test_ledger_pages_with_starting_after_over_250_entries(client, db):
    await make_account(client, "user_1", 1000)
    for _ in range(249):
        assert (await debit(client, "user_1", 1)).status_code == 201

    pages, cursor = [], None
    for _ in range(3):
        params = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
        page = await ledger_page(client, "user_1", **params)
        pages.append(page)
        cursor = page["next_cursor"]

    assert [len(p["data"]) for p in pages] == [100, 100, 50]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert pages[0]["next_cursor"] == pages[0]["data"][-1]["id"]
    assert pages[1]["next_cursor"] == pages[1]["data"][-1]["id"]
    assert pages[2]["next_cursor"] is None
    entries = [e for p in pages for e in p["data"]]
    assert len({e["id"] for e in entries}) == 250
    # Newest first: balances rise as we go back in time, down to the grant.
    assert [e["balance_after"] for e in entries] == list(range(751, 1001))
    assert entries[-1]["type"] == "grant"
    assert all(e["type"] == "debit" for e in entries[:-1])
    await assert_invariants(db, "user_1")


async def test_ledger_default_page_is_20_newest_entries(client, db):
    await make_account(client, "user_1", 100)
    for _ in range(25):
        await debit(client, "user_1", 1)

    page = await ledger_page(client, "user_1")

    assert len(page["data"]) == 20
    assert page["has_more"] is True
    assert page["data"][0]["balance_after"] == 75
    await assert_invariants(db, "user_1")


async def test_ledger_page_that_fits_exactly_has_no_more(client, db):
    await make_account(client, "user_1", 100)
    await debit(client, "user_1", 1)

    page = await ledger_page(client, "user_1", limit=2)

    assert (len(page["data"]), page["has_more"], page["next_cursor"]) == (2, False, None)
    await assert_invariants(db, "user_1")


async def test_ledger_filters_by_type(client, db):
    await make_account(client, "user_1", 100)
    await debit(client, "user_1", 5)
    await grant(client, "user_1", 10)
    await debit(client, "user_1", 7)

    page = await ledger_page(client, "user_1", type="debit")

    assert [(e["type"], e["amount"]) for e in page["data"]] == [("debit", -7), ("debit", -5)]
    grants = await ledger_page(client, "user_1", type="grant")
    assert [e["amount"] for e in grants["data"]] == [10, 100]
    assert (await ledger_page(client, "user_1", type="clawback"))["data"] == []
    await assert_invariants(db, "user_1")


async def test_ledger_type_filter_pages_with_starting_after(client, db):
    await make_account(client, "user_1", 100)
    for _ in range(5):
        await debit(client, "user_1", 1)
        await grant(client, "user_1", 1)

    first = await ledger_page(client, "user_1", type="debit", limit=3)
    rest = await ledger_page(
        client, "user_1", type="debit", limit=3, starting_after=first["next_cursor"]
    )

    assert first["has_more"] is True and rest["has_more"] is False
    ids = [e["id"] for e in first["data"] + rest["data"]]
    assert len(set(ids)) == 5
    assert {e["type"] for e in first["data"] + rest["data"]} == {"debit"}
    await assert_invariants(db, "user_1")


async def test_ledger_filters_by_creation_date(client, db, clock):
    start = clock.now()
    await make_account(client, "user_1", 100)  # start
    clock.advance(hours=1)
    await debit(client, "user_1", 1)  # +1h
    clock.advance(hours=1)
    await debit(client, "user_1", 2)  # +2h
    clock.advance(hours=1)
    await debit(client, "user_1", 3)  # +3h

    def at(hours: int) -> str:
        return (start + timedelta(hours=hours)).isoformat()

    between = await ledger_page(client, "user_1", created_gte=at(1), created_lt=at(3))
    since = await ledger_page(client, "user_1", created_gte=at(2))
    before = await ledger_page(client, "user_1", created_lt=at(1))

    assert [e["amount"] for e in between["data"]] == [-2, -1]
    assert [e["amount"] for e in since["data"]] == [-3, -2]
    assert [e["amount"] for e in before["data"]] == [100]
    await assert_invariants(db, "user_1")


async def test_ledger_date_filter_accepts_another_timezone(client, db, clock):
    start = clock.now()
    await make_account(client, "user_1", 100)
    clock.advance(hours=2)
    await debit(client, "user_1", 1)

    # 13:00+02:00 is 11:00Z, before the grant at 12:00Z.
    plus_two = (start + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    page = await ledger_page(client, "user_1", created_gte=plus_two.isoformat())

    assert [e["amount"] for e in page["data"]] == [-1]
    await assert_invariants(db, "user_1")


async def test_ledger_entries_have_the_spec_fields(client, db):
    await make_account(client, "user_1", 100)
    await debit(client, "user_1", 4, key="gen-9", description="x", metadata={"a": 1})

    [entry, _] = (await ledger_page(client, "user_1"))["data"]

    assert {
        "id",
        "type",
        "amount",
        "balance_after",
        "grants",
        "source",
        "description",
        "metadata",
        "idempotency_key",
        "created_at",
    } <= entry.keys()
    assert (entry["amount"], entry["idempotency_key"], entry["metadata"]) == (-4, "gen-9", {"a": 1})
    assert entry["created_at"].startswith("2026-11-01T12:00:00")
    await assert_invariants(db, "user_1")


async def test_ledger_of_another_account_is_not_mixed_in(client, db):
    await make_account(client, "user_1", 100)
    await make_account(client, "user_2", 50)
    await debit(client, "user_2", 1)

    page = await ledger_page(client, "user_1")

    assert [e["amount"] for e in page["data"]] == [100]
    await assert_invariants(db, "user_1")
    await assert_invariants(db, "user_2")


async def test_reservations_write_no_ledger_entry_until_captured(client, db):
    await make_account(client, "user_1", 100)
    await reserve(client, "user_1", 10)

    page = await ledger_page(client, "user_1")

    assert [e["type"] for e in page["data"]] == ["grant"]
    await assert_invariants(db, "user_1")


async def test_ledger_of_an_unknown_account_is_404(client):
    r = await client.get("/v1/accounts/nobody/ledger", headers=auth("reader"))

    assert_problem(r, 404, "account_not_found")


async def test_ledger_date_filter_needs_its_offset(client, db, clock):
    # RFC 3339, as the document says: a local time would be a guess at the zone.
    await make_account(client, "user_1", 100)  # 12:00Z
    clock.advance(hours=1)
    await debit(client, "user_1", 1)  # 13:00Z

    for naive in ("2026-11-01T12:30:00", "2026-11-01", "1793536200"):
        refused = await client.get(
            "/v1/accounts/user_1/ledger", params={"created_gte": naive}, headers=auth("reader")
        )
        assert_problem(refused, 422, "validation_error")
    page = await ledger_page(client, "user_1", created_gte="2026-11-01T12:30:00Z")

    assert [e["amount"] for e in page["data"]] == [-1]
    await assert_invariants(db, "user_1")
