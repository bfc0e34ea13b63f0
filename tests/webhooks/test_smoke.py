from tests.factories import assert_invariants
from tests.stripe_events import StripeEvents
from tests.webhooks.helpers import get_account, send_ok


async def test_checkout_activation_renewal(client, db):
    ev = StripeEvents("endive")
    assert await send_ok(client, ev.checkout_session_completed(
        session_id="cs_1", customer="cus_1", account_id="user_1", subscription="sub_1",
    )) == "processed"
    start = ev.now
    assert await send_ok(client, ev.subscription_event(
        "customer.subscription.created", subscription_id="sub_1", customer="cus_1",
        price="price_starter_monthly", status="active", period_start=start,
        period_end=start + 30 * 86400)) == "processed"
    assert await send_ok(client, ev.invoice_event(
        "invoice.paid", invoice_id="in_1", customer="cus_1", subscription="sub_1",
        price="price_starter_monthly", billing_reason="subscription_create", amount_paid=1900,
        period_start=start, period_end=start + 30 * 86400)) == "processed"
    acc = await get_account(client, "user_1")
    assert acc["balance"] == 1000 and acc["subscription_status"] == "active", acc
    assert acc["plan"] == "starter"
    await assert_invariants(db, "user_1")
