"""The acceptance property, over HTTP: for any sequence of usage records of one meter and account,
the credits debited are the rounded price of their total, whatever the batch boundaries (single
debits, batches of any size) and the order of retries; each retry answers as the first time."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta
from fractions import Fraction

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.storage.database import connect
from tests.ledger.metered import T, write_rate_card
from tests.support.settings import auth, make_settings
from tests.support.verify import assert_verified

EXAMPLES = int(os.environ.get("USAGE_EXAMPLES", "25"))
# (credits, per) of each meter of the test card, before and from T, and its rounding.
CARD = {
    "tokens": ((1, 1000), (1, 1000), "up"),
    "odd_down": ((3, 7), (3, 7), "down"),
    "odd_nearest": ((5, 12), (7, 12), "nearest"),
}
NOW = T + timedelta(minutes=30)  # after the price change: records stamped either side


@pytest.fixture(scope="module")
def plans_file(tmp_path_factory):
    return write_rate_card(tmp_path_factory.mktemp("card"))


def rounded(value: Fraction, rounding: str) -> int:
    if rounding == "down":
        return value.numerator // value.denominator
    if rounding == "up":
        return -(-value.numerator // value.denominator)
    half = value + Fraction(1, 2)
    return half.numerator // half.denominator


records = st.lists(
    st.tuples(st.integers(1, 5000), st.booleans()), min_size=1, max_size=25
)  # (quantity, stamped before T)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    meter=st.sampled_from(sorted(CARD)),
    usage=records,
    plan=st.data(),
)
def test_credits_debited_are_the_rounded_price_of_the_total_whatever_the_batches(
    plans_file, meter, usage, plan
):
    # Each record is sent once, and some again (a retry), in a shuffled order, cut into
    # requests: single debits and batches of any size.
    n = len(usage)
    retried = plan.draw(st.lists(st.integers(0, n - 1), max_size=n), label="retried")
    order = plan.draw(st.permutations(list(range(n)) + retried), label="order")
    cuts = plan.draw(st.lists(st.integers(1, 8), min_size=len(order)), label="cuts")
    singles = plan.draw(st.lists(st.booleans(), min_size=len(order)), label="singles")
    asyncio.run(_scenario(plans_file, meter, usage, order, cuts, singles))


async def _scenario(plans_file, meter, usage, order, cuts, singles):
    db = connect(os.environ.get("MONGODB_TEST_URI"), f"test_{uuid.uuid4().hex[:12]}")
    app = create_app(
        make_settings(plans_file=plans_file), db=db, clock=FrozenClock(NOW), sweeper=False
    )
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await _run(client, meter, usage, order, cuts, singles)
            await assert_verified(app)
    finally:
        if os.environ.get("MONGODB_TEST_URI"):
            await db.client.drop_database(db.name)
        await db.close()


async def _run(client, meter, usage, order, cuts, singles):
    grant = await client.post(
        "/v1/accounts/acct/grants",
        json={"amount": 10**6, "kind": "bonus", "description": "usage"},
        headers={**auth("admin"), "Idempotency-Key": "g"},
    )
    assert grant.status_code == 201
    first: dict[int, dict] = {}
    position = 0
    for cut, single in zip(cuts, singles, strict=False):
        chunk = order[position : position + cut]
        position += cut
        if not chunk:
            break
        for index, answer in await _send(client, meter, usage, chunk, single):
            assert answer["status"] == 201, answer
            if index in first:
                assert answer["replayed"] and answer["entry"] == first[index]["entry"]
            else:
                assert not answer["replayed"]
                first[index] = answer
    assert position >= len(order)

    account = (await client.get("/v1/accounts/acct", headers=auth())).json()
    (old, new, rounding) = CARD[meter]
    exact = sum(
        Fraction(q * (old if before else new)[0], (old if before else new)[1])
        for q, before in usage
    )
    assert 10**6 - account["balance"] == rounded(exact, rounding)
    assert -sum(a["entry"]["amount"] for a in first.values()) == rounded(exact, rounding)


def _record(meter, usage, index):
    quantity, before = usage[index]
    when = T - timedelta(minutes=1) if before else T + timedelta(minutes=1)
    return {
        "meter": meter,
        "quantity": quantity,
        "occurred_at": when.isoformat().replace("+00:00", "Z"),
    }


async def _send(client, meter, usage, chunk, single):
    if single:
        answers = []
        for index in chunk:
            r = await client.post(
                "/v1/accounts/acct/debits",
                json=_record(meter, usage, index),
                headers={**auth("worker"), "Idempotency-Key": f"u-{index}"},
            )
            replayed = r.headers.get("Idempotent-Replayed") == "true"
            body = r.json()
            answers.append((index, {"status": r.status_code, "replayed": replayed, **body}))
        return answers
    records = [
        {"account_id": "acct", "idempotency_key": f"u-{index}", **_record(meter, usage, index)}
        for index in chunk
    ]
    r = await client.post("/v1/usage", json={"records": records}, headers=auth("worker"))
    assert r.status_code == 200, r.text
    return list(zip(chunk, r.json()["results"], strict=True))
