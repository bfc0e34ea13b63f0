"""Refunds claw back a pack's credits in proportion (partial refunds add up, never twice);
disputes suspend the payment's account until closed, and a lost one claws back."""

from tests.factories import assert_invariants, assert_problem, debit, grant, live_grants
from tests.webhooks.helpers import (
    assert_every_account,
    entry_by_key,
    get_account,
    ledger_entries,
    pack_checkout,
    send_ok,
    stored_event,
    subscribe,
)


async def _buy_pack(client, events) -> None:
    """boost_500 paid 1000 cents through pi_pack (charge ch_pack)."""
    assert (
        await send_ok(client, pack_checkout(events, payment_intent="pi_pack", amount_total=1000))
        == "processed"
    )


def _refund(events, refunded: int, **kw) -> dict:
    return events.charge_refunded(
        charge_id="ch_pack", payment_intent="pi_pack", amount=1000, amount_refunded=refunded, **kw
    )


async def test_partial_refund_of_half_a_pack_claws_back_half(client, db, events):
    await _buy_pack(client, events)

    assert await send_ok(client, _refund(events, 500)) == "processed"

    assert (await get_account(client, "user_1"))["balance"] == 250
    entry = await entry_by_key(db, "user_1", "refund:ch_pack:500")
    assert (entry["type"], entry["amount"]) == ("clawback", -250)
    assert entry["grants"][0]["kind"] == "purchase"
    await assert_invariants(db, "user_1")


async def test_full_refund_after_a_partial_one_claws_back_only_the_rest(client, db, events):
    await _buy_pack(client, events)
    await send_ok(client, _refund(events, 500))

    assert await send_ok(client, _refund(events, 1000)) == "processed"

    assert (await get_account(client, "user_1"))["balance"] == 0
    clawbacks = [
        e["amount"] for e in await ledger_entries(client, "user_1") if e["type"] == "clawback"
    ]
    assert clawbacks == [-250, -250]
    await assert_invariants(db, "user_1")


async def test_partial_refunds_add_up_and_round_down(client, db, events):
    await _buy_pack(client, events)

    for refunded in (333, 666, 1000):  # 166, then 333 - 166, then 500 - 333
        await send_ok(client, _refund(events, refunded))

    clawbacks = [
        e["amount"] for e in await ledger_entries(client, "user_1") if e["type"] == "clawback"
    ]
    assert clawbacks == [-166, -167, -167]
    assert (await get_account(client, "user_1"))["balance"] == 0
    await assert_invariants(db, "user_1")


async def test_the_same_refund_resent_claws_back_once(client, db, events):
    await _buy_pack(client, events)
    await send_ok(client, _refund(events, 500))

    again = _refund(events, 500)
    assert await send_ok(client, again) == "duplicate"

    assert (await get_account(client, "user_1"))["balance"] == 250
    assert (await stored_event(db, again["id"]))["status"] == "duplicate"
    await assert_invariants(db, "user_1")


async def test_refunds_delivered_out_of_order_claw_back_the_total_once(client, db, events):
    await _buy_pack(client, events)

    await send_ok(client, _refund(events, 1000))
    assert await send_ok(client, _refund(events, 500)) == "duplicate"

    assert (await get_account(client, "user_1"))["balance"] == 0
    await assert_invariants(db, "user_1")


async def test_refund_of_spent_pack_credits_leaves_a_deficit(client, db, events):
    await _buy_pack(client, events)
    assert (await debit(client, "user_1", 400)).status_code == 201

    await send_ok(client, _refund(events, 1000))

    acc = await get_account(client, "user_1")
    assert (acc["balance"], acc["deficit"]) == (-400, 400)
    assert_problem(await debit(client, "user_1", 1), 403, "negative_balance")
    await assert_invariants(db, "user_1")


async def test_refund_claws_back_from_the_pack_before_other_grants(client, db, events):
    await grant(client, "user_1", 100, kind="bonus")
    await _buy_pack(client, events)

    await send_ok(client, _refund(events, 1000))

    [bonus] = await live_grants(client, "user_1")
    assert (bonus["kind"], bonus["remaining"]) == ("bonus", 100)
    await assert_invariants(db, "user_1")


async def test_refund_of_a_subscription_invoice_claws_nothing_back(client, db, events):
    sub = await subscribe(client, events)
    refund = events.charge_refunded(payment_intent=sub["payment_intent"], amount=1900)

    assert await send_ok(client, refund) == "ignored"

    assert (await get_account(client, "user_1"))["balance"] == 1000
    stored = await stored_event(db, refund["id"])
    assert stored["account_id"] == "user_1"
    await assert_invariants(db, "user_1")


async def test_refund_of_an_unknown_charge_is_ignored(client, db, events):
    refund = events.charge_refunded(amount=1000)

    assert await send_ok(client, refund) == "ignored"


def _dispute(
    events,
    type_: str,
    status: str | None = None,
    *,
    charge_id: str = "ch_pack",
    payment_intent: str = "pi_pack",
) -> dict:
    return events.dispute_event(
        type_,
        dispute_id="dp_1",
        charge_id=charge_id,
        payment_intent=payment_intent,
        amount=1000,
        status=status,
    )


async def test_dispute_created_suspends_the_account_with_reason_disputed(client, db, events):
    await _buy_pack(client, events)

    assert await send_ok(client, _dispute(events, "created")) == "processed"

    acc = await get_account(client, "user_1")
    assert acc["suspended_reason"] == "disputed"
    assert acc["balance"] == 500
    body = assert_problem(await debit(client, "user_1", 1), 403, "access_suspended")
    assert "disputed" in body["detail"]
    await assert_invariants(db, "user_1")


async def test_dispute_won_restores_access_and_keeps_the_credits(client, db, events):
    await _buy_pack(client, events)
    await send_ok(client, _dispute(events, "created"))

    await send_ok(client, _dispute(events, "closed", status="won"))

    acc = await get_account(client, "user_1")
    assert (acc["suspended_reason"], acc["balance"]) == (None, 500)
    assert (await debit(client, "user_1", 1)).status_code == 201
    await assert_invariants(db, "user_1")


async def test_dispute_lost_claws_back_the_pack_and_restores_access(client, db, events):
    await _buy_pack(client, events)
    await grant(client, "user_1", 100, kind="bonus")
    await send_ok(client, _dispute(events, "created"))

    await send_ok(client, _dispute(events, "closed", status="lost"))

    acc = await get_account(client, "user_1")
    assert (acc["suspended_reason"], acc["balance"]) == (None, 100)
    entry = await entry_by_key(db, "user_1", "dispute:dp_1")
    assert (entry["type"], entry["amount"]) == ("clawback", -500)
    await assert_invariants(db, "user_1")


async def test_dispute_lost_after_a_partial_refund_claws_back_only_the_rest(client, db, events):
    await _buy_pack(client, events)
    await send_ok(client, _refund(events, 500))
    await send_ok(client, _dispute(events, "created"))

    await send_ok(client, _dispute(events, "closed", status="lost"))

    assert (await get_account(client, "user_1"))["balance"] == 0
    await assert_invariants(db, "user_1")


async def test_dispute_of_a_subscription_invoice_suspends_and_lost_claws_it_back(
    client, db, events
):
    sub = await subscribe(client, events)

    await send_ok(
        client,
        _dispute(events, "created", payment_intent=sub["payment_intent"], charge_id="ch_other"),
    )
    assert (await get_account(client, "user_1"))["suspended_reason"] == "disputed"

    await send_ok(
        client,
        _dispute(
            events,
            "closed",
            status="lost",
            payment_intent=sub["payment_intent"],
            charge_id="ch_other",
        ),
    )

    acc = await get_account(client, "user_1")
    assert (acc["suspended_reason"], acc["balance"]) == (None, 0)
    await assert_invariants(db, "user_1")


async def test_two_open_disputes_keep_access_suspended_until_both_close(client, db, events):
    await _buy_pack(client, events)
    await send_ok(client, pack_checkout(events, payment_intent="pi_pack2"))
    for dispute_id, pi in (("dp_1", "pi_pack"), ("dp_2", "pi_pack2")):
        await send_ok(
            client, events.dispute_event("created", dispute_id=dispute_id, payment_intent=pi)
        )

    await send_ok(
        client,
        events.dispute_event("closed", dispute_id="dp_1", payment_intent="pi_pack", status="won"),
    )

    assert (await get_account(client, "user_1"))["suspended_reason"] == "disputed"
    await assert_invariants(db, "user_1")


async def test_dispute_of_an_unknown_payment_is_ignored(client, db, events):
    dispute = events.dispute_event("created")

    assert await send_ok(client, dispute) == "ignored"
    await assert_every_account(db)
