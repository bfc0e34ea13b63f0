"""Auto top-up against a fake of Stripe's HTTP API on 127.0.0.1, driven by the real client."""

from __future__ import annotations

import httpx
import pytest
import stripe

from app.http.app import create_app
from tests.support.settings import make_settings
from tests.support.verify import assert_verified
from tests.topups.fake_stripe import API_KEY, CLIENT_TIMEOUT, FakeStripe

PACK_PRICE = "price_boost_500"  # boost_500 of the example catalog: 500 credits
PACK_AMOUNT = 1000  # cents


@pytest.fixture
def fake_stripe():
    fake = FakeStripe().start()
    fake.add_price(PACK_PRICE, PACK_AMOUNT)
    fake.add_customer("cus_1")
    yield fake
    fake.stop()


def client_for(fake: FakeStripe) -> stripe.StripeClient:
    """The service's real Stripe client, aimed at the fake (the fake's "timeout" holds its
    answer past the client's timeout)."""
    return stripe.StripeClient(
        API_KEY,
        base_addresses={"api": fake.url},
        max_network_retries=0,
        http_client=stripe.HTTPXClient(timeout=CLIENT_TIMEOUT, allow_sync_methods=True),
    )


@pytest.fixture
def group_commit() -> bool:
    """Group commit on, as the service runs by default (a test may parametrize it off)."""
    return True


@pytest.fixture
async def app(db, clock, fake_stripe, group_commit):
    application = create_app(
        make_settings(stripe_api_key=API_KEY, group_commit=group_commit),
        db=db,
        clock=clock,
        sweeper=False,
        stripe_client=client_for(fake_stripe),
    )
    async with application.router.lifespan_context(application):
        yield application
        await assert_verified(application)


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
