"""Body limits hold on the bytes actually read (chunked or not), and the API authenticates
from the headers before it reads a byte of the body: a refused caller costs nothing."""

from __future__ import annotations

import json

import pytest

from tests.factories import assert_invariants, assert_problem, make_account, snapshot
from tests.support.settings import auth

DEBITS = "/v1/accounts/user_1/debits"
CHUNK = 64 * 1024
HUGE = 200 * 1024 * 1024  # what the generator could produce if it were read to the end


class Streamed:
    """A chunked body of `total` bytes that counts how much of it was ever pulled."""

    def __init__(self, total: int = HUGE, chunk: bytes = b"x" * CHUNK) -> None:
        self.total, self.chunk, self.pulled = total, chunk, 0

    async def __aiter__(self):
        while self.pulled < self.total:
            self.pulled += len(self.chunk)
            yield self.chunk


@pytest.fixture
async def funded(client, db):
    await make_account(client, "user_1", 100)
    return await snapshot(db)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer key-nobody"}, {"Authorization": "Basic a2V5LWFkbWluOg=="}],
    ids=["no token", "unknown key", "not bearer"],
)
async def test_unauthenticated_chunked_body_is_401_without_reading_it(client, db, funded, headers):
    body = Streamed()

    r = await client.post(
        DEBITS,
        content=body,
        headers={**headers, "Idempotency-Key": "k1", "Content-Type": "application/json"},
    )

    assert_problem(r, 401, "unauthenticated")
    assert body.pulled == 0
    assert await snapshot(db) == funded


async def test_authenticated_chunked_body_past_64_kib_is_413_after_reading_just_past_it(
    client, db, funded
):
    body = Streamed()

    r = await client.post(
        DEBITS,
        content=body,
        headers={**auth("worker"), "Idempotency-Key": "k1", "Content-Type": "application/json"},
    )

    assert_problem(r, 413, "payload_too_large")
    assert body.pulled == 2 * CHUNK  # the chunk that crossed the limit was the last one read
    assert await snapshot(db) == funded
    await assert_invariants(db, "user_1")


async def test_declared_length_past_the_limit_is_413_before_reading(client, db, funded):
    body = Streamed(total=CHUNK * 2)

    r = await client.post(
        DEBITS,
        content=body,
        headers={
            **auth("worker"),
            "Idempotency-Key": "k1",
            "Content-Length": str(CHUNK * 2),
            "Content-Type": "application/json",
        },
    )

    assert_problem(r, 413, "payload_too_large")
    assert body.pulled == 0
    assert await snapshot(db) == funded


async def test_chunked_body_within_the_limit_is_read_whole(client, db, funded):
    metadata = {f"k{i}": "y" * 500 for i in range(50)}  # the largest body the API accepts
    payload = json.dumps({"amount": 7, "metadata": metadata}).encode()

    async def one_byte_at_a_time_then_the_rest():
        yield payload[:1]
        yield payload[1:1000]
        yield payload[1000:]

    r = await client.post(
        DEBITS,
        content=one_byte_at_a_time_then_the_rest(),
        headers={**auth("worker"), "Idempotency-Key": "k1", "Content-Type": "application/json"},
    )

    assert r.status_code == 201, r.text
    assert r.json()["account"]["balance"] == 93
    assert r.json()["entry"]["metadata"] == metadata
    await assert_invariants(db, "user_1")


@pytest.mark.parametrize(
    "body",
    [b'{"amount": ', b"\xff\xfe not utf-8", b"[]"],
    ids=["truncated", "not utf-8", "wrong shape"],
)
async def test_malformed_json_without_credentials_is_401_not_422(client, db, funded, body):
    r = await client.post(
        DEBITS, content=body, headers={"Idempotency-Key": "k1", "Content-Type": "application/json"}
    )

    assert_problem(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"
    assert await snapshot(db) == funded


async def test_malformed_json_with_credentials_is_still_422(client, db, funded):
    r = await client.post(
        DEBITS,
        content=b'{"amount": ',
        headers={**auth("worker"), "Idempotency-Key": "k1", "Content-Type": "application/json"},
    )

    assert_problem(r, 422, "validation_error")
    assert await snapshot(db) == funded


async def test_unknown_api_path_without_credentials_is_401(client):
    # Nothing under /v1 is described to a caller who has not said who they are.
    r = await client.get("/v1/nothing-here")

    assert_problem(r, 401, "unauthenticated")


async def test_webhook_chunked_body_past_one_mib_stops_reading_there(client, db):
    before = await snapshot(db)
    body = Streamed()

    r = await client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": "t=1,v1=00"}
    )

    assert_problem(r, 413, "payload_too_large")
    assert body.pulled == 1024 * 1024 + CHUNK
    assert await snapshot(db) == before
