"""The Stripe event helper itself: its signatures verify as Stripe's do, and its shapes match."""

import json
import re

import pytest
import stripe
from stripe_fixtures import (
    ENDIVE_API_VERSION,
    LEGACY_API_VERSION,
    StripeEvents,
    sign,
    signed_headers,
    signed_request,
    to_body,
)

SECRET = "whsec_test_secret"


def invoice_object(shape: str, **kwargs) -> dict:
    event = StripeEvents(shape=shape).invoice_event(
        "invoice.paid",
        subscription="sub_1",
        price="price_pro_monthly",
        subscription_metadata={"account_id": "user_7"},
        payment_intent="pi_1",
        charge="ch_1",
        **kwargs,
    )
    return event["data"]["object"]


def test_signature_verifies_with_stripe():
    event = StripeEvents().invoice_event("invoice.paid")
    body, headers = signed_request(event, SECRET)

    verified = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)

    assert verified.id == event["id"]
    assert verified.type == "invoice.paid"


def test_signature_with_wrong_secret_is_refused():
    body = to_body(StripeEvents().event("ping", {"id": "x", "object": "thing"}))
    header = sign(body, "whsec_other")

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, SECRET)


def test_signature_over_a_changed_body_is_refused():
    body = to_body(StripeEvents().checkout_session_completed())
    header = sign(body, SECRET)

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"user_42", b"user_43"), header, SECRET)


def test_old_timestamp_is_refused():
    body = to_body(StripeEvents().checkout_session_completed())
    header = sign(body, SECRET, timestamp=1_600_000_000)

    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(body, header, SECRET)


def test_header_has_stripe_format():
    header = sign(b'{"a":1}', SECRET, timestamp=1_700_000_000)

    assert re.fullmatch(r"t=1700000000,v1=[0-9a-f]{64}", header)


def test_signed_headers_carry_content_type():
    headers = signed_headers(b"{}", SECRET)

    assert headers["Content-Type"] == "application/json"
    assert headers["Stripe-Signature"].startswith("t=")


def test_event_envelope():
    events = StripeEvents(shape="legacy", now=1_790_000_000)

    event = events.event("customer.updated", {"id": "cus_1", "object": "customer"})

    assert event["id"].startswith("evt_")
    assert event["object"] == "event"
    assert event["api_version"] == LEGACY_API_VERSION
    assert event["created"] == 1_790_000_000
    assert event["livemode"] is False
    assert event["pending_webhooks"] == 1
    assert event["request"] == {"id": None, "idempotency_key": None}
    assert "previous_attributes" not in event["data"]


def test_event_ids_are_unique_across_factories():
    first, second = StripeEvents(), StripeEvents(shape="legacy")

    ids = {first.event("x", {})["id"], first.event("x", {})["id"], second.event("x", {})["id"]}

    assert len(ids) == 3


def test_created_and_event_id_can_be_overridden():
    event = StripeEvents().invoice_event(created=1_700_000_123, event_id="evt_fixed")

    assert (event["id"], event["created"]) == ("evt_fixed", 1_700_000_123)


def test_endive_invoice_names_its_subscription_under_parent():
    invoice = invoice_object("endive")

    assert invoice["parent"]["subscription_details"]["subscription"] == "sub_1"
    assert invoice["parent"]["subscription_details"]["metadata"] == {"account_id": "user_7"}
    assert "subscription" not in invoice
    assert "subscription_details" not in invoice


def test_endive_invoice_line_price_and_payment():
    invoice = invoice_object("endive", period_start=1_000, period_end=2_000)
    line = invoice["lines"]["data"][0]

    assert line["pricing"]["price_details"]["price"] == "price_pro_monthly"
    assert "price" not in line
    assert line["period"] == {"start": 1_000, "end": 2_000}
    assert invoice["payments"]["data"][0]["payment"]["payment_intent"] == "pi_1"
    assert "payment_intent" not in invoice
    assert "charge" not in invoice


def test_legacy_invoice_has_top_level_subscription_and_line_price_id():
    invoice = invoice_object("legacy")

    assert invoice["subscription"] == "sub_1"
    assert invoice["subscription_details"]["metadata"] == {"account_id": "user_7"}
    assert invoice["lines"]["data"][0]["price"]["id"] == "price_pro_monthly"
    assert (invoice["payment_intent"], invoice["charge"]) == ("pi_1", "ch_1")
    assert "parent" not in invoice
    assert "payments" not in invoice


def test_cycle_invoice_top_level_period_is_the_period_just_ended():
    invoice = invoice_object(
        "endive", billing_reason="subscription_cycle", period_start=2_000, period_end=3_000
    )

    assert (invoice["period_start"], invoice["period_end"]) == (1_000, 2_000)
    assert invoice["lines"]["data"][0]["period"] == {"start": 2_000, "end": 3_000}


def test_failed_invoice_is_open_and_unpaid():
    invoice = StripeEvents().invoice_event("payment_failed")["data"]["object"]

    assert invoice["status"] == "open"
    assert invoice["amount_paid"] == 0
    assert invoice["amount_remaining"] == invoice["amount_due"] > 0


def test_trial_invoice_has_no_payment():
    invoice = StripeEvents().invoice_event(amount_due=0)["data"]["object"]

    assert invoice["amount_paid"] == 0
    assert invoice["payments"]["data"] == []


def test_endive_subscription_period_is_on_items_only():
    event = StripeEvents().subscription_event(
        "created", price="price_pro_monthly", period_start=1_000, period_end=2_000
    )
    subscription = event["data"]["object"]
    item = subscription["items"]["data"][0]

    assert event["type"] == "customer.subscription.created"
    assert (item["current_period_start"], item["current_period_end"]) == (1_000, 2_000)
    assert item["price"]["id"] == "price_pro_monthly"
    assert "current_period_start" not in subscription


def test_legacy_subscription_period_is_on_the_subscription():
    subscription = StripeEvents(shape="legacy").subscription_event(
        "updated", period_start=1_000, period_end=2_000
    )["data"]["object"]

    assert (subscription["current_period_start"], subscription["current_period_end"]) == (
        1_000,
        2_000,
    )
    assert subscription["items"]["data"][0]["price"]["id"] == "price_starter_monthly"


def test_subscription_update_carries_previous_attributes():
    event = StripeEvents().subscription_event(
        "updated", previous_attributes={"cancel_at_period_end": False}, cancel_at_period_end=True
    )

    assert event["data"]["previous_attributes"] == {"cancel_at_period_end": False}
    subscription = event["data"]["object"]
    assert subscription["cancel_at"] == subscription["items"]["data"][0]["current_period_end"]


def test_deleted_subscription_is_canceled():
    subscription = StripeEvents(now=5_000).subscription_event("deleted")["data"]["object"]

    assert subscription["status"] == "canceled"
    assert subscription["ended_at"] == 5_000


def test_pack_checkout_session():
    session = StripeEvents().checkout_session_completed(
        mode="payment", account_id="org:acme", metadata={"pack": "boost_500"}, payment_intent="pi_9"
    )["data"]["object"]

    assert session["client_reference_id"] == "org:acme"
    assert session["metadata"] == {"pack": "boost_500"}
    assert (session["payment_intent"], session["subscription"]) == ("pi_9", None)


def test_async_payment_succeeded_type():
    event = StripeEvents().checkout_session_completed(
        mode="payment", type="async_payment_succeeded"
    )

    assert event["type"] == "checkout.session.async_payment_succeeded"


def test_refund_and_dispute():
    events = StripeEvents()

    refund = events.charge_refunded(charge_id="ch_1", amount=1000, amount_refunded=400)
    closed = events.dispute_event("closed", charge_id="ch_1")

    assert refund["data"]["object"]["refunded"] is False
    assert refund["data"]["object"]["amount_refunded"] == 400
    assert closed["type"] == "charge.dispute.closed"
    assert closed["data"]["object"]["status"] == "lost"


@pytest.mark.parametrize("shape", ["endive", "legacy"])
def test_stripe_python_reads_every_builder(shape):
    events = StripeEvents(shape=shape)
    built = [
        events.checkout_session_completed(),
        events.subscription_event("created", status="trialing", trial_end=events.now + 600),
        events.invoice_event("invoice.paid"),
        events.charge_refunded(),
        events.dispute_event(),
        events.customer_event(metadata={"account_id": "user_42"}),
    ]

    for event in built:
        body, headers = signed_request(event, SECRET)
        parsed = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
        # stripe-python turns *_decimal strings into Decimal; str() gives the same text back.
        assert json.loads(json.dumps(parsed.to_dict(), default=str)) == event


def test_stripe_python_exposes_the_endive_invoice_fields():
    event = StripeEvents().invoice_event(subscription="sub_1", price="price_scale_monthly")
    body, headers = signed_request(event, SECRET)

    parsed = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
    invoice = parsed.data.object

    assert parsed.api_version == ENDIVE_API_VERSION
    assert invoice.parent.subscription_details.subscription == "sub_1"
    assert invoice.lines.data[0].pricing.price_details.price == "price_scale_monthly"
