"""Outgoing-event fixtures: the webhook side's Stripe event factory and app builder, and a real
HTTP receiver on 127.0.0.1."""

import pytest

from tests.events.receiver import Receiver, start
from tests.webhooks.conftest import app_with, events  # noqa: F401 - fixtures shared


@pytest.fixture
def receiver():
    """A running receiver (its `url` set), stopped after the test."""
    got = Receiver()
    server, got.url = start(got)
    yield got
    if got.hold is not None:
        got.hold.set()
    server.shutdown()
    server.server_close()
