"""Webhook fixtures: an event factory on the test clock, and apps built on a custom catalog."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from stripe_fixtures import StripeEvents

from app.http.app import create_app
from tests.support.settings import make_settings
from tests.support.verify import assert_verified
from tests.webhooks.helpers import catalog_toml


@pytest.fixture
def events(clock) -> StripeEvents:
    """Endive-shaped events whose `created` is the service clock's now."""
    return StripeEvents("endive", now=int(clock.now().timestamp()))


@pytest.fixture
async def app_with(tmp_path, db, clock, request):
    """Build an app (and a client for it) on the test database, from a catalog given as a dict
    (see `example_catalog`) and settings overrides; every app built is shut down at the end."""
    async with contextlib.AsyncExitStack() as stack:
        built = 0
        apps = []

        async def build(catalog: dict | None = None, stripe_client=None, **settings):
            nonlocal built
            built += 1
            overrides = {}
            if catalog is not None:
                path = tmp_path / f"plans_{built}.toml"
                path.write_text(catalog_toml(catalog))
                overrides["plans_file"] = path
            application = create_app(
                make_settings(**overrides, **settings),
                db=db,
                clock=clock,
                sweeper=False,
                stripe_client=stripe_client,
            )
            await stack.enter_async_context(application.router.lifespan_context(application))
            apps.append(application)
            transport = httpx.ASGITransport(app=application)
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://test")
            )
            return application, client

        yield build
        if apps and "ledger_broken" not in request.keywords:
            await assert_verified(apps[-1])  # one database: every app sees all of it
