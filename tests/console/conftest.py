"""Read-view fixtures: Stripe events on the test clock."""

from __future__ import annotations

import pytest

from tests.events.conftest import receiver  # noqa: F401 - the one receiver fixture
from tests.stripe_events import StripeEvents


@pytest.fixture
def events(clock) -> StripeEvents:
    return StripeEvents("endive", now=int(clock.now().timestamp()))
