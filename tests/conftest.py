"""Fixtures: a fresh database per test (embedded, or MONGODB_TEST_URI), a frozen clock, the app
over ASGITransport, and API keys of every scope."""

from __future__ import annotations

import os
import random
import uuid
import zlib

import httpx
import pytest
from hypothesis import settings as hypothesis_settings

from app.http.app import create_app
from app.kit.clock import FrozenClock
from app.kit.config import Settings
from app.storage.database import Database, connect
from app.storage.embedded.scan import Scanner
from tests.support.settings import START, make_settings
from tests.support.verify import assert_verified
from tests.tools import skipped_lines

# Hypothesis draws the same examples on every run (the state machine, schemathesis): a failure
# found once is found again, and a run never fails by the luck of the draw.
hypothesis_settings.register_profile("seeded", derandomize=True)
hypothesis_settings.load_profile("seeded")


def pytest_collection_modifyitems(config, items) -> None:
    real = bool(os.environ.get("MONGODB_TEST_URI"))
    for item in items:
        if real and "embedded_only" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="embedded engine only"))
        if not real and "real_server" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="needs MONGODB_TEST_URI"))


@pytest.fixture(autouse=True)
def seeded_random(request) -> None:
    """The random module starts each test from a seed of its own name (the dispatcher's retry
    jitter draws from it): a test sees the same draws alone, in any order, beside others."""
    random.seed(zlib.crc32(request.node.nodeid.encode()))


def pytest_terminal_summary(terminalreporter) -> None:
    for line in skipped_lines(terminalreporter.stats.get("skipped", [])):
        terminalreporter.write_line(line, yellow=True)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def db():
    uri = os.environ.get("MONGODB_TEST_URI")
    name = f"test_{uuid.uuid4().hex[:12]}"
    database: Database = connect(uri, name)
    database.calls.enabled = True  # what each operation costs: tests/test_call_budgets.py
    if database.engine is not None and os.environ.get("EMBEDDED_SCAN_EVERYWHERE"):
        # Every query no fast path narrows takes the embedded engine's yielding scan, as it
        # does on big collections only: the suite then checks its answers everywhere.
        database.engine.scanner = Scanner(above=-1, slice_size=3)
    yield database
    if uri:
        await database.client.drop_database(name)
    await database.close()


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def app(settings, db, clock, request):
    application = create_app(settings, db=db, clock=clock, sweeper=False)
    async with application.router.lifespan_context(application):
        yield application
        # After every scenario; a test that breaks the ledger on purpose says so.
        if "ledger_broken" not in request.keywords:
            await assert_verified(application)


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
