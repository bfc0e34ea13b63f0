"""Read-view fixtures: Stripe events on the test clock."""

from __future__ import annotations

import pytest
from stripe_fixtures import StripeEvents


@pytest.fixture
def events(clock) -> StripeEvents:
    return StripeEvents("endive", now=int(clock.now().timestamp()))
