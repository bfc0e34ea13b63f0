"""Properties of the period model, searched by Hypothesis over the library of lives
(tests/webhooks/lives.py): any order of a life's events, with duplicates, ends with the grants,
balance and standing of the in-order delivery; and no sequence of plan and seat changes inside
one period grants that period more than its highest plan and seat count, prorated, would.

Sizes: PERIOD_EXAMPLES (default 15) examples per layout; raise it locally to search longer."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from stripe_fixtures import DAY, LAYOUTS

from app.storage.database import GRANTS
from tests.support.settings import START
from tests.webhooks.helpers import catalog_toml
from tests.webhooks.lives import (
    LIVES,
    T0,
    Life,
    Runner,
    _subscribe,
    last_time,
    life_events,
)
from tests.webhooks.shapes_story import GROWTH, MONTH, STARTER, TEAM_SEAT, shapes_catalog

pytestmark = pytest.mark.slow  # generated orders and changes of a life's events

EXAMPLES = int(os.environ.get("PERIOD_EXAMPLES", "15"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # Each example starts an app: shrinking would take minutes; the failing order is printed.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    print_blob=True,
)
# plan x seats a month, as shapes_catalog says: starter 1000, growth 4000, team 1000 a seat.
CREDITS = {STARTER: 1000, GROWTH: 4000, TEAM_SEAT: 1000}

_in_order: dict[tuple[str, str], dict] = {}


@pytest.fixture(scope="module")
def plans_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("plans") / "plans.toml"
    path.write_text(catalog_toml(shapes_catalog()))
    return path


def _deliver(plans_file, events: list[dict], now: int) -> dict:
    runner = Runner(plans_file, now)
    try:
        for event in events:
            assert runner.deliver(event) in ("processed", "duplicate", "parked", "ignored")
        return runner.outcome()
    finally:
        runner.close()


def _expected(plans_file, name: str, layout: str) -> dict:
    if (name, layout) not in _in_order:
        events = life_events(name, layout)
        _in_order[name, layout] = _deliver(plans_file, events, last_time(events) + 60)
    return _in_order[name, layout]


@pytest.mark.parametrize("layout", LAYOUTS)
@SETTINGS
@given(data=st.data())
def test_any_order_of_a_lifes_events_with_duplicates_ends_as_the_in_order_delivery(
    plans_file, layout, data
):
    name = data.draw(st.sampled_from(sorted(LIVES)), label="life")
    events = life_events(name, layout)
    order = list(data.draw(st.permutations(range(len(events))), label="order"))
    again = data.draw(st.lists(st.sampled_from(range(len(events))), max_size=4), label="again")
    for index in again:  # a duplicate delivery of the same event, anywhere after the first
        first = order.index(index)
        order.insert(data.draw(st.integers(first + 1, len(order)), label="at"), index)

    shuffled = _deliver(plans_file, [events[i] for i in order], last_time(events) + 60)

    assert shuffled == _expected(plans_file, name, layout)


changes = st.lists(
    st.tuples(
        st.integers(1, 29 * DAY),  # seconds into the period
        st.sampled_from([STARTER, GROWTH, TEAM_SEAT]),
        st.integers(1, 5),  # seats (of a seat plan)
    ),
    min_size=1,
    max_size=8,
)


@pytest.mark.parametrize("layout", LAYOUTS)
@SETTINGS
@given(moves=changes, shuffle=st.randoms(use_true_random=False))
def test_plan_and_seat_changes_in_a_period_never_grant_more_than_its_highest_prorated(
    plans_file, layout, moves, shuffle
):
    life = Life(layout)
    _subscribe(life, "sub_1", STARTER, T0, T0 + MONTH)
    setup = len(life.events)
    credits_at = []
    for offset, price, seats in sorted(moves):
        quantity = seats if price == TEAM_SEAT else 1
        life.snapshot(
            "customer.subscription.updated",
            "sub_1",
            [(price, quantity)],
            T0,
            T0 + MONTH,
            T0 + offset,
        )
        credits_at.append((offset, CREDITS[price] * quantity))
    changed = life.events[setup:]
    shuffle.shuffle(changed)  # Stripe does not deliver in order either

    runner = Runner(plans_file, T0 + MONTH - 60)
    try:
        for event in life.events[:setup] + changed:
            # invoice.payment_succeeded after invoice.paid: "duplicate", the invoice credited
            assert runner.deliver(event) in ("processed", "duplicate")
        grants = runner.run(
            runner.db[GRANTS].find({"account_id": "user_1", "period_start": START}).to_list(None)
        )
        runner.outcome()  # the invariants
    finally:
        runner.close()

    granted = sum(g["amount"] for g in grants if g["kind"] == "subscription")
    highest = max(credits for _, credits in credits_at)
    raised = [offset for offset, credits in credits_at if credits > 1000]
    # Above the plan paid for (1000), only from the first raise on, at most the highest.
    bound = 1000 + (max(highest - 1000, 0) * (MONTH - min(raised)) // MONTH if raised else 0)
    assert 1000 <= granted <= bound
