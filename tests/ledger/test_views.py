"""A usage batch's entries are answered by entry_json, built without the model: it must say
exactly what the model says, for every shape of entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.ledger.views import entry_json, entry_view

AT = datetime(2026, 11, 1, 12, 0, 0, 123000, tzinfo=UTC)
USAGE = {
    "meter": "tokens",
    "quantity": 700,
    "occurred_at": AT - timedelta(minutes=3),
    "plan": None,
    "rate_version": 2,
    "effective_from": datetime(2026, 1, 1, tzinfo=UTC),
    "unit_price": {"credits": 1, "per": 1000},
}


def entry(**changes) -> dict:
    return {
        "_id": "le_1",
        "account_id": "user_1",
        "type": "debit",
        "amount": -3,
        "balance_after": 97,
        "grants": [{"grant_id": "gr_1", "kind": "bonus", "amount": -3}],
        "source": "api",
        "actor": "worker",
        "description": None,
        "metadata": {},
        "created_at": AT,
        "seq": 4,
        **changes,
    }


@pytest.mark.parametrize(
    "doc",
    [
        entry(),
        entry(idempotency_key="gen-1", usage=USAGE),
        entry(usage={**USAGE, "plan": "pro", "occurred_at": AT.replace(microsecond=0)}),
        entry(description="a generation", metadata={"model": "x", "n": 3, "ok": True, "z": None}),
        entry(
            grants=[
                {"grant_id": "gr_1", "amount": -1},
                {"grant_id": "gr_2", "kind": "paid", "amount": -2},
            ]
        ),
        entry(created_at=AT.astimezone(timezone(timedelta(hours=2)))),
        entry(created_at=datetime(2026, 11, 1, 12, 0)),
        entry(actor=None, source="stripe", type="grant", amount=5),
    ],
)
def test_an_entry_built_directly_is_the_model_dumped(doc):
    assert entry_json(doc) == entry_view(doc).model_dump(mode="json")
    assert list(entry_json(doc)) == list(entry_view(doc).model_dump(mode="json"))
