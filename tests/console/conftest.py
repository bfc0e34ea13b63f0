"""Read-view fixtures: Stripe events on the test clock."""

from __future__ import annotations

import pytest
from stripe_fixtures import StripeEvents

from tests.events.conftest import receiver  # noqa: F401 - the one receiver fixture


@pytest.fixture
def events(clock) -> StripeEvents:
    return StripeEvents("endive", now=int(clock.now().timestamp()))
