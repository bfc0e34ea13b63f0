"""livemode: every stored event keeps it; with STRIPE_API_KEY set, an event of the other mode
(a test endpoint pointed at production, or the reverse) is `ignored` with a note saying why."""

import pytest

from tests.factories import assert_invariants
from tests.webhooks.helpers import assert_every_account, get_account, stored_event
from tests.webhooks.shapes_story import STARTER, Story, shapes_catalog


@pytest.mark.parametrize(
    ("key", "livemode"),
    [("sk_live_abc", False), ("rk_live_abc", False), ("sk_test_abc", True), ("rk_test_abc", True)],
)
async def test_an_event_of_the_other_mode_than_the_key_is_ignored_with_a_note(
    app_with, db, clock, key, livemode
):
    _, client = await app_with(shapes_catalog(), stripe_api_key=key)
    story = Story(client, clock, "current")

    status = await story.send(
        "customer.subscription.created",
        story.subscription([(STARTER, 1)], story.now, story.now + 30 * 86_400, account_id="user_1"),
        livemode=livemode,
    )

    assert status == "ignored"
    stored = await db["stripe_events"].find_one({"type": "customer.subscription.created"})
    assert stored["livemode"] is livemode
    note = (await stored_event(db, stored["_id"]))["note"]
    assert ("live-mode event" if livemode else "test-mode event") in note
    assert key not in note
    assert await db["accounts"].count_documents({}) == 0
    await assert_every_account(db)


@pytest.mark.parametrize(
    ("key", "livemode"),
    [("sk_live_abc", True), ("sk_test_abc", False), (None, True), (None, False)],
)
async def test_an_event_of_the_keys_mode_or_without_a_key_applies(
    app_with, db, clock, key, livemode
):
    _, client = await app_with(shapes_catalog(), stripe_api_key=key)
    story = Story(client, clock, "current")

    status = await story.send(
        "customer.subscription.created",
        story.subscription([(STARTER, 1)], story.now, story.now + 30 * 86_400, account_id="user_1"),
        livemode=livemode,
    )

    assert status == "processed"
    stored = await db["stripe_events"].find_one({"type": "customer.subscription.created"})
    assert stored["livemode"] is livemode
    assert (await get_account(client, "user_1"))["plan"] == "starter"
    await assert_invariants(db, "user_1")
