"""Read-view fixtures: Stripe events on the test clock."""

from __future__ import annotations

import pytest

from tests.events.receiver import Receiver, start
from tests.stripe_events import StripeEvents


@pytest.fixture
def events(clock) -> StripeEvents:
    return StripeEvents("endive", now=int(clock.now().timestamp()))


@pytest.fixture
def receiver():
    """A real HTTP receiver of outgoing webhooks on 127.0.0.1, stopped after the test."""
    got = Receiver()
    server, got.url = start(got)
    yield got
    if got.hold is not None:
        got.hold.set()
    server.shutdown()
    server.server_close()
