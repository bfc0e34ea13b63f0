"""A usage batch's entries and group commit's answers are built without the models
(entry_json, account_json): they must say exactly what the models say, for every shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.ledger.views import account_json, account_view, entry_json, entry_view

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


def account(**changes) -> dict:
    return {
        "_id": "user_1",
        "balance": 100,
        "reserved": 20,
        "holds": 1,
        "deficit": 0,
        "seq": 7,
        "grant_ids": ["gr_1"],
        "subscription_status": "none",
        "plan": None,
        "current_period_end": None,
        "grace_until": None,
        "cancel_at": None,
        "stripe_customer_id": None,
        "stripe_subscription_id": None,
        "metadata": {},
        "created_at": AT,
        "updated_at": AT,
        **changes,
    }


@pytest.mark.parametrize(
    "doc",
    [
        account(),
        account(name="Ada", email="ada@example.com", metadata={"team": "x", "n": 2}),
        account(
            subscription_status="past_due",
            plan="pro",
            current_period_end=AT + timedelta(days=30),
            grace_until=AT - timedelta(days=1),
            cancel_at=datetime(2026, 12, 1, 0, 0),
            stripe_customer_id="cus_1",
            stripe_subscription_id="sub_1",
            deficit=5,
            balance=-5,
        ),
        account(open_disputes=["dp_1"], subscription_status="active"),
        account(
            subscription_status="unpaid", updated_at=AT.astimezone(timezone(timedelta(hours=-3)))
        ),
        {k: v for k, v in account().items() if k != "subscription_status"},
    ],
)
def test_an_account_built_directly_is_the_model_dumped(doc):
    assert account_json(doc, AT) == account_view(doc, AT).model_dump(mode="json")
    assert list(account_json(doc, AT)) == list(account_view(doc, AT).model_dump(mode="json"))
