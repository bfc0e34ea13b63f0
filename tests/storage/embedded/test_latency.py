"""Simulated replica-set latency (benchmarks only): every collection call waits a round trip
and every commit a majority commit, at the engine's call boundary; off unless set, and refused
beside a real server."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.storage.calls import COMMIT
from tests.factories import debit, make_account
from tests.support.settings import make_settings


@pytest.fixture
def settings():
    return make_settings(embedded_round_trip_ms=0.2, embedded_commit_ms=0.5)


@pytest.mark.embedded_only
async def test_every_call_waits_a_round_trip_and_every_commit_a_commit(app, client, db):
    account = await make_account(client, "user_lat", 100)
    latency = db.engine.latency
    calls_before, commits_before = latency.calls.count, latency.commits.count
    db.calls.reset()

    assert (await debit(client, account, 3)).status_code == 201

    counted = dict(db.calls.counts)
    commits = counted.pop(COMMIT, 0)
    assert latency.calls.count - calls_before == sum(counted.values()) == 6
    assert latency.commits.count - commits_before == commits == 1
    # What the waits really took is kept for the report (the timer wakes a little early to
    # make up for its own lateness: about what was asked, on average).
    assert latency.calls.mean_ms > 0.1
    assert latency.commits.mean_ms > 0.25


async def test_no_latency_unless_set(db):
    if db.engine is not None:
        assert db.engine.latency is None


def test_simulated_latency_is_refused_beside_a_real_server():
    with pytest.raises(ValidationError, match="EMBEDDED_ROUND_TRIP_MS"):
        make_settings(mongodb_uri="mongodb://db:27017/?replicaSet=rs0", embedded_commit_ms=2)
