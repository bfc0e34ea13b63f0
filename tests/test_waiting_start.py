"""A start that waits for its database: the service starts while MongoDB does not answer, its
API and webhook answer 503 `database_unavailable` (Stripe and the clients retry) and /readyz
names what is missing; once the replica set answers it is ready by itself, every index in
place before the first write."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from httpx import AsyncClient as Client

from app.http.app import create_app
from app.storage.database import INDEXES, connect, list_indexes
from tests.support.ports import free_port
from tests.support.settings import auth

# Nothing listens on port 1: every server selection fails, quickly with these timeouts.
UNREACHABLE = (
    "mongodb://127.0.0.1:1/?replicaSet=rs0&serverSelectionTimeoutMS=200"
    "&connectTimeoutMS=200&timeoutMS=500"
)


@contextlib.asynccontextmanager
async def serving(settings, clock, uri: str, name: str) -> AsyncIterator[tuple[FastAPI, Client]]:
    """The service started on the database at `uri` (answering or not), and a client of it."""
    database = connect(uri, name)
    application = create_app(settings, db=database, clock=clock, sweeper=False)
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                yield application, c
    finally:
        await database.close()


@pytest.fixture
async def waiting(settings, clock) -> AsyncIterator[Client]:
    async with serving(settings, clock, UNREACHABLE, "never_reached") as (_, client):
        yield client


async def test_healthz_answers_while_the_database_does_not(waiting):
    r = await waiting.get("/healthz")

    assert (r.status_code, r.json()) == (200, {"status": "ok", "pid": os.getpid()})


async def test_readyz_is_503_naming_the_database_as_missing(waiting):
    r = await waiting.get("/readyz")

    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_ready" and r.json()["missing"] == ["database"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    [
        ("POST", "/v1/accounts/user_1/debits", {"Idempotency-Key": "job-1"}, {"amount": 1}),
        ("GET", "/v1/accounts/user_1", {}, None),
        ("POST", "/webhooks/stripe", {"Stripe-Signature": "t=1,v1=00"}, {}),
    ],
)
async def test_api_and_webhook_calls_answer_503_database_unavailable(
    waiting, method, path, headers, body
):
    r = await waiting.request(method, path, headers={**auth(), **headers}, json=body)

    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "database_unavailable"
    assert int(r.headers["retry-after"]) > 0


async def test_a_call_without_a_key_is_still_refused_first(waiting):
    r = await waiting.get("/v1/accounts/user_1")

    assert r.status_code == 401


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def relay(port: int, host: str, target: int) -> AsyncIterator[None]:
    """A TCP relay on `port` to the replica set: the database "comes up" when it starts."""
    writers: list[asyncio.StreamWriter] = []

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(host, target)
        writers.extend((writer, upstream_writer))
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    server = await asyncio.start_server(connection, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


@pytest.mark.real_server
async def test_the_service_becomes_ready_by_itself_once_the_replica_set_answers(settings, clock):
    real = urlsplit(os.environ["MONGODB_TEST_URI"])
    port = free_port()
    # One member, reached directly through the relay (which is not listening yet).
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=300"
    name = f"test_{uuid.uuid4().hex[:12]}"
    async with serving(settings, clock, uri, name) as (application, client):
        readiness = application.state.services.readiness
        before = await client.post(
            "/v1/accounts/user_1/grants",
            headers={**auth(), "Idempotency-Key": "grant-1"},
            json={"amount": 10, "kind": "bonus"},
        )
        async with relay(port, real.hostname or "localhost", real.port or 27017):
            await asyncio.wait_for(readiness.became_ready.wait(), timeout=60)
            database = application.state.services.db
            indexes: dict[str, set[str]] = {}
            for collection in INDEXES:
                cursor = await list_indexes(database.db[collection])
                indexes[collection] = {index["name"] async for index in cursor}
            ready = await client.get("/readyz")
            after = await client.post(
                "/v1/accounts/user_1/grants",
                headers={**auth(), "Idempotency-Key": "grant-1"},
                json={"amount": 10, "kind": "bonus"},
            )
            await database.client.drop_database(name)

    assert before.status_code == 503 and before.json()["code"] == "database_unavailable"
    for collection, models in INDEXES.items():
        assert {m.document["name"] for m in models} <= indexes[collection], collection
    assert ready.status_code == 200, ready.text
    assert after.status_code == 201, after.text
